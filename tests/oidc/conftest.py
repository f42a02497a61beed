"""One OpenID Provider process per test module, and the app configured to use it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gotong_gql.settings import Settings
from tests.conftest import JWT_SECRET, Database
from tests.oidc.provider import APP_REDIRECT, CLIENT, SECOND_CLIENT, OpenIdProvider


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    provider = OpenIdProvider(tmp_path_factory.mktemp("oidc")).start()
    try:
        yield provider
    finally:
        provider.stop()


def oidc_settings(provider: OpenIdProvider, database: Database, tmp_path, **extra) -> Settings:
    """`testop` and `second` are two clients at the one provider: to us, two providers."""
    providers = [
        {"name": "testop", "issuer": provider.issuer, "display_name": "Test OP", **CLIENT},
        {"name": "second", "issuer": provider.issuer, **SECOND_CLIENT},
    ]
    return Settings(
        gotong_env="test",
        database_url=database.url,
        jwt_secret=JWT_SECRET,
        var_dir=tmp_path / "var",
        oidc_providers=json.dumps(providers),
        oidc_redirect_uris=f"{APP_REDIRECT},com.example.gotong:/oidc",
        oidc_timeout_seconds=2,
        **extra,
    )


@pytest.fixture
def settings(provider: OpenIdProvider, database: Database, tmp_path) -> Settings:
    if provider.process is None:
        provider.start()
    return oidc_settings(provider, database, tmp_path)
