"""One typed Settings object, read from the environment.

Every setting has an embedded default that works on a laptop with nothing installed (SQLite,
local object storage, in-process queue and pub/sub). Production values come from the environment.
With GOTONG_ENV=production, development secrets (generated, short or well-known) are refused.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gotong_gql.oidc.config import (
    OidcProviderConfig,
    parse_providers,
    parse_redirect_uris,
    provider_problems,
)

KNOWN_DEV_SECRETS = frozenset(
    {"secret", "changeme", "change-me", "dev", "development", "test", "password", "jwt-secret"}
)
MIN_SECRET_LENGTH = 32
# Outside production, a browser app served from any local port (a Vite or Next dev server) may
# call the API, over HTTP (CORS) and WebSocket, without listing itself in CORS_ORIGINS.
LOCAL_ORIGINS = r"http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    gotong_env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("./var")

    database_url: str = "sqlite+aiosqlite:///./var/gotong.db"
    database_pool_size: int = Field(default=10, ge=1)
    database_echo: bool = False

    redis_url: str | None = None

    s3_endpoint_url: str | None = None
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "gotong-evidence"
    s3_region: str = "us-east-1"

    markov_base_url: str | None = None
    markov_webhook_secret: SecretStr | None = None
    markov_webhook_secret_previous: SecretStr | None = None
    markov_api_token: SecretStr | None = None

    # Delivery to the Markov Engine (SPEC 4): timeout per attempt, backoff base (delays of
    # base * 2^(n-1) after the n-th failure), attempts before the dead-letter table, the lease a
    # worker holds on an event while sending it, and the sweeper's period and grace.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_backoff_base_seconds: float = Field(default=1.0, ge=0)
    webhook_max_attempts: int = Field(default=5, ge=1)
    webhook_lease_seconds: float = Field(default=30.0, gt=0)
    webhook_sweep_interval_seconds: float = Field(default=5.0, gt=0)
    webhook_pending_grace_seconds: float = Field(default=30.0, ge=0)
    reputation_cache_seconds: int = Field(default=300, ge=1)
    # How often the worker (the API process in the embedded mode) logs the head of each hash
    # chain, so that a rewrite of a whole chain shows against an older checkpoint.
    audit_checkpoint_interval_seconds: float = Field(default=3600.0, gt=0)
    # On SIGTERM: how long in-flight requests (API) and jobs (worker) may take to finish.
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0)
    # The worker serves /healthz, /readyz and /metrics on this port.
    worker_metrics_port: int = Field(default=9100, ge=1, le=65535)
    # The API's /metrics (on its public port) answers only `Authorization: Bearer <this>` when
    # set; in production without it, the API serves no /metrics at all.
    metrics_token: SecretStr | None = None
    log_level: str = "INFO"
    # JSON log lines (structlog); false renders them for a terminal.
    log_json: bool = True

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "gotong-gql"
    jwt_audience: str = "gotong-gql"
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)

    # The address clients reach the API on, for the local object store's URLs. Empty (unset):
    # the address each request was sent to (its Host, or X-Forwarded-Host and X-Forwarded-Proto
    # from a proxy in FORWARDED_ALLOW_IPS: uvicorn's comma-separated addresses, networks or "*").
    public_base_url: str = ""
    forwarded_allow_ips: str = "127.0.0.1"
    # Comma-separated: `https://app.example,https://admin.example`.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Persisted queries (graphql/persisted.py): `automatic` (APQ), `only` (production: only the
    # documents of the manifest run) or `off`; the manifest (Apollo's or Relay's format); how long
    # a document registered by APQ is kept.
    persisted_queries: Literal["automatic", "only", "off"] = "automatic"
    persisted_queries_manifest: Path | None = None
    persisted_queries_ttl_seconds: int = Field(default=3600, ge=60)

    # Sign-in with OpenID Connect providers (SPEC 10): a JSON list of {name, issuer, client_id,
    # client_secret, display_name}; the apps' redirect URIs, comma-separated (exact matches);
    # how long a provider may take to answer one request.
    oidc_providers: Annotated[list[OidcProviderConfig], NoDecode] = Field(default_factory=list)
    oidc_redirect_uris: Annotated[list[str], NoDecode] = Field(default_factory=list)
    oidc_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    verification_quorum: int = Field(default=3, ge=1)
    vouch_min_reputation: float = 0.0

    # Hardening of /graphql (README "Hardening"). Request bodies over this many bytes: 413.
    graphql_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Checked before execution: field nesting depth (introspection fields excluded), aliases and
    # directives in a document, lexical tokens, and the node cost: GitHub-style, a connection's
    # `first: N` counts N nodes and multiplies the cost of what is selected below it.
    graphql_max_depth: int = Field(default=15, ge=2)
    graphql_max_aliases: int = Field(default=30, ge=0)
    graphql_max_directives: int = Field(default=50, ge=0)
    graphql_max_tokens: int = Field(default=5000, ge=100)
    graphql_max_cost: int = Field(default=5000, ge=1)
    # Compiled reads (gotong_gql/compiler/): query operations answered by one SQL statement.
    graphql_compiled_reads: bool = True
    # Rate limits as "N/period" (the `limits` notation: "300/minute", "10/15 minutes"), kept in
    # Redis when REDIS_URL is set, in this process otherwise. A query costs 1 + nodes // 100
    # points, charged to the signed-in user, or to the client IP for anonymous requests.
    rate_limit_enabled: bool = True
    rate_limit_user: str = "300/minute"
    rate_limit_ip: str = "300/minute"
    # Against password guessing: tokenCreate per account (username and email alike) and per IP,
    # charged before the password is checked and given back when it is right; every
    # accountRegister per email and per IP.
    rate_limit_login_account: str = "10/15 minutes"
    rate_limit_login_ip: str = "100/15 minutes"
    rate_limit_register_account: str = "5/hour"
    rate_limit_register_ip: str = "20/hour"

    # Subscriptions over graphql-transport-ws (README "Live updates for many subscribers"): one
    # read per event for each group of subscribers to the same operation and visibility class.
    # A connection that has this many messages waiting to be written is closed with code 1013.
    subscription_multiplexing: bool = True
    ws_send_queue_limit: int = Field(default=1000, ge=1)

    @field_validator(
        "rate_limit_user",
        "rate_limit_ip",
        "rate_limit_login_account",
        "rate_limit_login_ip",
        "rate_limit_register_account",
        "rate_limit_register_ip",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"not a rate limit like '300/minute': {value!r}") from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("oidc_providers", mode="before")
    @classmethod
    def _providers_from_json(cls, value: object) -> object:
        return parse_providers(value)

    @field_validator("oidc_redirect_uris", mode="before")
    @classmethod
    def _split_redirect_uris(cls, value: object) -> object:
        return parse_redirect_uris(value)

    @model_validator(mode="after")
    def _oidc_is_usable(self) -> Settings:
        problems = provider_problems(
            self.oidc_providers, self.oidc_redirect_uris, self.is_production
        )
        if problems:
            raise ValueError("\n- ".join(["OpenID Connect configuration:", *problems]))
        return self

    @model_validator(mode="after")
    def _persisted_only_needs_a_manifest(self) -> Settings:
        if self.persisted_queries == "only" and self.persisted_queries_manifest is None:
            raise ValueError("PERSISTED_QUERIES=only needs PERSISTED_QUERIES_MANIFEST")
        return self

    @model_validator(mode="after")
    def _lease_outlives_an_attempt(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS: a lease that "
                "ends during an attempt lets a second worker send the same event"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        if not self.is_production:
            return self
        problems = []
        if self.jwt_secret is None:
            problems.append(
                "JWT_SECRET is not set (development generates one under ./var; production must not)"
            )
        else:
            problems.extend(_weak_secret_problems("JWT_SECRET", self.jwt_secret))
        if self.metrics_token is not None:
            problems.extend(_weak_secret_problems("METRICS_TOKEN", self.metrics_token))
        if self.markov_base_url:
            if self.markov_webhook_secret is None:
                problems.append("MARKOV_WEBHOOK_SECRET is required when MARKOV_BASE_URL is set")
            else:
                problems.extend(
                    _weak_secret_problems("MARKOV_WEBHOOK_SECRET", self.markov_webhook_secret)
                )
        if problems:
            raise ValueError(
                "GOTONG_ENV=production refuses this configuration:\n- " + "\n- ".join(problems)
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.gotong_env == "production"

    @property
    def local_origins(self) -> str | None:
        """The pattern of the origins allowed besides CORS_ORIGINS: local ones, in development."""
        return None if self.is_production else LOCAL_ORIGINS

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def jwt_signing_key(self) -> str:
        """The JWT key: JWT_SECRET, or (outside production) one generated once under var_dir."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.var_dir / "jwt_secret"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


def _weak_secret_problems(name: str, secret: SecretStr) -> list[str]:
    value = secret.get_secret_value()
    if value.lower() in KNOWN_DEV_SECRETS:
        return [f"{name} is a well-known development value"]
    if len(value) < MIN_SECRET_LENGTH:
        return [f"{name} must be at least {MIN_SECRET_LENGTH} characters"]
    return []


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)
