"""The relying party's side of talking to providers: discovery, JWKS, the authorization URL, the
code exchange (authlib's httpx client) and the ID token's checks (joserfc).

Discovery documents and key sets are cached in this process for an hour; a key set is fetched
again at once when an ID token names a `kid` it lacks (the provider rotated its keys). Only the
provider's own token endpoint hands us ID tokens, and the login rate limits bound how often that
happens, so the refetch needs no limit of its own. Every request to a provider has the timeout of
OIDC_TIMEOUT_SECONDS; a provider that does not answer in time, cannot be reached, or answers 5xx
or nonsense to discovery is OIDC_PROVIDER_UNAVAILABLE.

No database here: services.py keeps the flows and identities.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from gotong_gql import __version__
from gotong_gql.errors import DomainError
from gotong_gql.oidc.config import OidcProviderConfig
from gotong_gql.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600
SCOPE = "openid email profile"
# Asymmetric only: an HS256 ID token would be signed with our client secret, which is ours.
ID_TOKEN_ALGORITHMS = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
]  # fmt: skip
LEEWAY_SECONDS = 60
USER_AGENT = f"GotongRoyong/{__version__}"


def unavailable(provider: OidcProviderConfig, why: str) -> DomainError:
    log.warning("OpenID provider %s unavailable: %s", provider.name, why)
    return DomainError(
        "OIDC_PROVIDER_UNAVAILABLE", f"{provider.label} did not answer; try again later"
    )


def token_invalid(why: str, field: str | None = None) -> DomainError:
    return DomainError("OIDC_TOKEN_INVALID", f"the provider's answer was refused: {why}", field)


@dataclass(frozen=True)
class Metadata:
    """What the client needs of a discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


@dataclass(frozen=True)
class VerifiedIdentity:
    """The person the provider vouched for, from a checked ID token (and userinfo)."""

    subject: str
    email: str | None
    email_verified: bool
    claims: dict[str, Any]


class OidcClients:
    def __init__(self, settings: Settings) -> None:
        self.providers = {provider.name: provider for provider in settings.oidc_providers}
        self.redirect_uris = frozenset(settings.oidc_redirect_uris)
        self.timeout = settings.oidc_timeout_seconds
        self._http = httpx2.AsyncClient(
            timeout=self.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self._metadata: dict[str, tuple[float, Metadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def close(self) -> None:
        await self._http.aclose()

    def provider(self, name: str) -> OidcProviderConfig:
        provider = self.providers.get(name)
        if provider is None:
            raise DomainError(
                "OIDC_PROVIDER_UNKNOWN", f"no OpenID Connect provider named {name!r}", "provider"
            )
        return provider

    def ensure_redirect_allowed(self, redirect_uri: str) -> None:
        if redirect_uri not in self.redirect_uris:
            raise DomainError(
                "OIDC_REDIRECT_NOT_ALLOWED",
                "this redirect URI is not in OIDC_REDIRECT_URIS",
                "redirectUri",
            )

    async def metadata(self, provider: OidcProviderConfig) -> Metadata:
        cached = self._metadata.get(provider.name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(provider, url)
        try:
            metadata = Metadata(
                issuer=document["issuer"],
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
                userinfo_endpoint=document.get("userinfo_endpoint"),
            )
        except (KeyError, TypeError):
            raise unavailable(provider, "discovery document lacks an endpoint") from None
        if metadata.issuer != provider.issuer:
            raise unavailable(provider, f"discovery names another issuer: {metadata.issuer!r}")
        self._metadata[provider.name] = (time.monotonic() + CACHE_SECONDS, metadata)
        return metadata

    async def authorization_url(
        self, provider: OidcProviderConfig, redirect_uri: str, state: str, verifier: str, nonce: str
    ) -> str:
        metadata = await self.metadata(provider)
        async with self._oauth(provider, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
            )
        return url

    async def redeem(
        self,
        provider: OidcProviderConfig,
        code: str,
        redirect_uri: str,
        verifier: str,
        nonce: str,
    ) -> VerifiedIdentity:
        """The code for tokens at the provider's token endpoint, then the ID token's checks;
        the email from userinfo when the ID token does not carry it."""
        metadata = await self.metadata(provider)
        async with self._oauth(provider, redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                    redirect_uri=redirect_uri,
                )
            except OAuthError as exc:
                raise token_invalid(f"the code was refused ({exc.error})", "code") from None
            except httpx2.HTTPStatusError as exc:
                if exc.response.status_code >= 500:
                    why = f"token endpoint {exc.response.status_code}"
                    raise unavailable(provider, why) from None
                raise token_invalid(f"token endpoint said {exc.response.status_code}") from None
            except (httpx2.HTTPError, ValueError) as exc:
                raise unavailable(provider, f"token endpoint: {type(exc).__name__}") from None
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise token_invalid("no ID token")
            claims = await self._verified_claims(provider, metadata, id_token, nonce)
            if "email" not in claims or "email_verified" not in claims:
                claims = {**await self._userinfo(provider, metadata, client, claims), **claims}
        email = claims.get("email")
        return VerifiedIdentity(
            subject=claims["sub"],
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") in (True, "true"),
            claims=claims,
        )

    def _oauth(self, provider: OidcProviderConfig, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def _verified_claims(
        self, provider: OidcProviderConfig, metadata: Metadata, id_token: str, nonce: str
    ) -> dict[str, Any]:
        """OpenID Connect Core 3.1.3.7: the signature by one of the provider's keys, `iss`,
        `aud` (and `azp` when there are several audiences), `exp`, `iat` and our `nonce`."""
        try:
            try:
                decoded = jwt.decode(
                    id_token, await self._key_set(provider, metadata), ID_TOKEN_ALGORITHMS
                )
            except InvalidKeyIdError:
                keys = await self._key_set(provider, metadata, refresh=True)
                decoded = jwt.decode(id_token, keys, ID_TOKEN_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": metadata.issuer},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise token_invalid(f"ID token: {exc.error}: {exc.description}") from None
        except ValueError as exc:
            raise token_invalid(f"ID token: {exc}") from None
        claims = decoded.claims
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or provider.client_id not in audiences:
            raise token_invalid("ID token: it was issued to another client (aud)")
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise token_invalid("ID token: several audiences and azp is not this client")
        return claims

    async def _key_set(
        self, provider: OidcProviderConfig, metadata: Metadata, *, refresh: bool = False
    ) -> KeySet:
        cached = self._keys.get(provider.name)
        if cached is not None and cached[0] > time.monotonic() and not refresh:
            return cached[1]
        document = await self._get_json(provider, metadata.jwks_uri)
        try:
            keys = KeySet.import_key_set(
                {"keys": [key for key in document["keys"] if key.get("use", "sig") == "sig"]}
            )
        except (JoseError, KeyError, TypeError, ValueError, AttributeError):
            raise unavailable(provider, "the JWKS holds no usable signing key") from None
        self._keys[provider.name] = (time.monotonic() + CACHE_SECONDS, keys)
        return keys

    async def _userinfo(
        self,
        provider: OidcProviderConfig,
        metadata: Metadata,
        client: AsyncOAuth2Client,
        claims: dict[str, Any],
    ) -> dict[str, Any]:
        if metadata.userinfo_endpoint is None:
            return {}
        try:
            response = await client.get(metadata.userinfo_endpoint)
        except httpx2.HTTPError as exc:
            raise unavailable(provider, f"userinfo: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise unavailable(provider, f"userinfo {response.status_code}")
        try:
            info = response.json() if response.status_code == 200 else {}
        except ValueError:
            info = {}
        # Core 5.3.2: userinfo about anyone but the ID token's subject must not be used.
        if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
            return {}
        return {key: info[key] for key in ("email", "email_verified") if key in info}

    async def _get_json(self, provider: OidcProviderConfig, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise unavailable(provider, f"{url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise unavailable(provider, f"{url}: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise unavailable(provider, f"{url}: not a JSON object")
        return document
