"""OIDC_PROVIDERS and OIDC_REDIRECT_URIS are checked when the process starts."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gotong_gql.settings import Settings
from tests.e2e.server import cli

GOOGLE = {
    "name": "google",
    "issuer": "https://accounts.google.com",
    "client_id": "1234.apps.googleusercontent.com",
    "client_secret": "a-secret",
    "display_name": "Google",
}


@pytest.mark.parametrize(
    ("providers", "redirects", "message"),
    [
        ('[{"name": "google"', "https://app.example/cb", "OIDC_PROVIDERS is not valid JSON"),
        (json.dumps([{"name": "google"}]), "https://app.example/cb", "issuer\n  Field required"),
        (json.dumps([{**GOOGLE, "issuer": "accounts.google.com"}]), "https://a.example/cb",
         "issuer must be an http(s) URL"),
        (json.dumps([{**GOOGLE, "name": "Google Accounts"}]), "https://a.example/cb",
         "String should match pattern"),
        (json.dumps([GOOGLE, GOOGLE]), "https://app.example/cb", "names 'google' twice"),
        (json.dumps([GOOGLE]), "", "OIDC_REDIRECT_URIS is empty"),
        (json.dumps([GOOGLE]), "https://app.example/cb#done", "has no fragment"),
        (json.dumps([GOOGLE]), "/relative/cb", "not an absolute URI"),
    ],
)  # fmt: skip
def test_a_malformed_value_is_refused_with_a_clear_message(providers, redirects, message):
    with pytest.raises(ValidationError) as refused:
        Settings(oidc_providers=providers, oidc_redirect_uris=redirects)
    assert message in str(refused.value)


def test_a_valid_configuration_and_production_rules():
    settings = Settings(
        oidc_providers=json.dumps([GOOGLE]),
        oidc_redirect_uris="https://app.example/cb, com.example.gotong:/oidc",
    )
    assert [p.name for p in settings.oidc_providers] == ["google"]
    assert settings.oidc_redirect_uris == ["https://app.example/cb", "com.example.gotong:/oidc"]
    assert settings.oidc_timeout_seconds == 10
    plain = json.dumps([{**GOOGLE, "issuer": "http://idp.example"}])
    with pytest.raises(ValidationError, match="issuer must be https in production"):
        Settings(
            gotong_env="production",
            jwt_secret="s" * 40 + "-not-a-dev-secret",
            oidc_providers=plain,
            oidc_redirect_uris="https://app.example/cb",
        )


def test_the_server_does_not_start_with_a_malformed_value(tmp_path):
    env = {"OIDC_PROVIDERS": "[{", "VAR_DIR": str(tmp_path / "var")}
    result = cli("serve", "--port", "0", env=env)
    assert result.returncode != 0
    assert "OIDC_PROVIDERS is not valid JSON" in result.stdout + result.stderr
