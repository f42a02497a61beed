"""OIDC_PROVIDERS and OIDC_REDIRECT_URIS: parsed and checked when the settings load, so that a
malformed value stops the process at start with a message that names it."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

ProviderName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
]


class OidcProviderConfig(BaseModel):
    """One provider: its `name` is what clients send and what identities are stored under, so
    it must not change once people have signed in with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: ProviderName
    issuer: str
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    client_secret: SecretStr
    display_name: str = ""

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
            raise ValueError(f"issuer must be an http(s) URL without a query: {value!r}")
        if parts.fragment or value != value.strip():
            raise ValueError(f"issuer must be an http(s) URL without a fragment: {value!r}")
        return value

    @field_validator("client_secret")
    @classmethod
    def _secret_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("client_secret is empty")
        return value

    @property
    def label(self) -> str:
        return self.display_name or self.name


def parse_providers(value: object) -> object:
    """OIDC_PROVIDERS arrives as JSON text; anything else is left to pydantic to judge."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return []
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"OIDC_PROVIDERS is not valid JSON ({exc.msg} at character {exc.pos}): expected a "
            'list like [{"name": "google", "issuer": "https://accounts.google.com", '
            '"client_id": "...", "client_secret": "...", "display_name": "Google"}]'
        ) from None


def parse_redirect_uris(value: object) -> object:
    if isinstance(value, str):
        return [uri.strip() for uri in value.split(",") if uri.strip()]
    return value


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be on the allow-list (RFC 6749 3.1.2: absolute, no fragment);
    custom schemes of mobile apps (`com.example.app:/callback`) are allowed."""
    parts = urlsplit(uri)
    if not parts.scheme or any(char.isspace() for char in uri):
        return f"OIDC_REDIRECT_URIS: not an absolute URI: {uri!r}"
    if parts.fragment or uri.endswith("#"):
        return f"OIDC_REDIRECT_URIS: a redirect URI has no fragment: {uri!r}"
    if parts.scheme in ("http", "https") and not parts.hostname:
        return f"OIDC_REDIRECT_URIS: no host in {uri!r}"
    return None


def provider_problems(
    providers: list[OidcProviderConfig], redirect_uris: list[str], production: bool
) -> list[str]:
    problems = [problem for uri in redirect_uris if (problem := redirect_uri_problem(uri))]
    names = [provider.name for provider in providers]
    problems.extend(
        f"OIDC_PROVIDERS names {name!r} twice"
        for name in sorted(set(names))
        if names.count(name) > 1
    )
    if providers and not redirect_uris:
        problems.append("OIDC_PROVIDERS is set but OIDC_REDIRECT_URIS is empty: no flow could end")
    if production:
        problems.extend(
            f"OIDC_PROVIDERS: {provider.name}'s issuer must be https in production"
            for provider in providers
            if not provider.issuer.startswith("https://")
        )
    return problems


OidcProviders = Annotated[list[OidcProviderConfig], Field(default_factory=list)]
