from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from gotong_gql.app import create_app
from gotong_gql.settings import Settings


async def test_health_and_readiness(api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


async def test_not_ready_before_migrations(tmp_path):
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        jwt_secret="s" * 40,
        var_dir=tmp_path,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"].startswith("at None, head is ")


async def test_request_id_is_echoed_or_made(api):
    given = await api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await api.client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made.headers["x-request-id"].startswith("req_")


async def test_graphiql_for_browsers_in_development(api):
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_no_graphiql_in_production(tmp_path):
    settings = Settings(
        gotong_env="production",
        jwt_secret="p" * 40,
        var_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404


@pytest.mark.executor  # an error inside the executor (the compiled path falls back instead)
async def test_unexpected_errors_are_masked_with_the_request_id(api, monkeypatch):
    from gotong_gql.user import service

    async def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(service, "find_user", broken)
    token = await _token(api)
    response = await api.client.post(
        "/graphql",
        json={"query": '{ user(by: {username: "x"}) { id } }'},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42"},
    )
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "hunter2" not in response.text


async def _token(api) -> str:
    from tests.helpers import register

    return (await register(api, "ayu")).token


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "JWT_SECRET is not set"),
        ({"jwt_secret": "changeme"}, "JWT_SECRET is a well-known development value"),
        ({"jwt_secret": "short-but-not-known"}, "JWT_SECRET must be at least 32 characters"),
        (
            {"jwt_secret": "j" * 40, "markov_base_url": "http://markov"},
            "MARKOV_WEBHOOK_SECRET is required when MARKOV_BASE_URL is set",
        ),
    ],
)
def test_production_refuses_development_secrets(env, message):
    with pytest.raises(ValidationError, match=message):
        Settings(gotong_env="production", **env)


def test_development_generates_a_jwt_secret_once(tmp_path):
    first = Settings(var_dir=tmp_path).jwt_signing_key
    second = Settings(var_dir=tmp_path).jwt_signing_key
    assert first == second
    assert len(first) >= 48
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert not settings.is_sqlite


async def test_metrics_name_operations_and_outcomes(api, monkeypatch):
    from prometheus_client import REGISTRY

    from gotong_gql import metrics
    from tests.helpers import register

    # The counters and the label bound are the process's: earlier tests may have run operations
    # of these names, or filled the bound. A fresh bound, and the counts measured as a difference.
    monkeypatch.setattr(
        metrics, "OPERATION_LABELS", metrics.LabelBound(metrics.MAX_OPERATION_LABELS)
    )

    def count(operation: str, outcome: str) -> float:
        labels = {"operation": operation, "outcome": outcome}
        return REGISTRY.get_sample_value("gotong_graphql_requests_total", labels) or 0.0

    before = (count("Profile", "ok"), count("Broken", "error"))
    account = await register(api, "ayu")
    await api.gql("query Profile { me { username } }", token=account.token)
    await api.post(
        "query Broken { tasks(first: 1000) { edges { node { id } } } }", token=account.token
    )
    assert (count("Profile", "ok"), count("Broken", "error")) == (before[0] + 1, before[1] + 1)
    scrape = (await api.client.get("/metrics")).text
    assert 'gotong_graphql_requests_total{operation="Profile",outcome="ok"}' in scrape
    assert 'gotong_graphql_request_duration_seconds_bucket{le="0.005",operation="Profile"}' in (
        scrape
    )
    assert 'gotong_db_pool_connections{state="in_use"}' in scrape
    assert "gotong_subscriptions_open" in scrape
    assert "gotong_webhook_deliveries_total" in scrape
