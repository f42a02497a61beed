"""`oidcProviders` on the compiled path: the configured providers, one per name, in order."""

from __future__ import annotations

import json

import pytest

from gotong_gql.settings import Settings
from tests.compiler.test_statements import both_paths
from tests.conftest import JWT_SECRET

PROVIDERS = "query Providers { oidcProviders { name displayName __typename } }"
LABEL = 'Second "OP" \u00e9 \\ </script>'


@pytest.fixture
def settings(database, tmp_path) -> Settings:
    providers = [
        {"name": "testop", "issuer": "https://op.example", "client_id": "a", "client_secret": "s"},
        {
            "name": "second",
            "issuer": "https://op.example",
            "client_id": "b",
            "client_secret": "t",
            "display_name": LABEL,
        },
    ]
    return Settings(
        gotong_env="test",
        database_url=database.url,
        jwt_secret=JWT_SECRET,
        var_dir=tmp_path / "var",
        oidc_providers=json.dumps(providers),
        oidc_redirect_uris="https://app.example/oidc",
    )


async def test_oidc_providers_come_from_the_settings(api):
    compiled, executed = await both_paths(api, PROVIDERS, {}, None)
    assert compiled == executed
    assert compiled["data"]["oidcProviders"] == [
        {"name": "testop", "displayName": "testop", "__typename": "OidcProvider"},
        {"name": "second", "displayName": LABEL, "__typename": "OidcProvider"},
    ]
