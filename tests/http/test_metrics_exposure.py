"""/metrics names operations and error codes: it is not for anonymous clients in production (a
bearer token, METRICS_TOKEN), and the operation names clients choose cannot add series without
bound (a cap per process, then `other`)."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr, ValidationError

from gotong_gql import metrics
from gotong_gql.settings import Settings
from tests.conftest import JWT_SECRET

METRICS_TOKEN = "metrics-" + "m" * 40
OPERATION = re.compile(r'gotong_graphql_requests_total\{operation="([^"]*)"')


async def test_operation_names_are_bounded_per_process(api, monkeypatch):
    # A bound of its own: the process's is shared by the whole test run.
    monkeypatch.setattr(
        metrics, "OPERATION_LABELS", metrics.LabelBound(metrics.MAX_OPERATION_LABELS)
    )
    for index in range(metrics.MAX_OPERATION_LABELS + 50):
        response = await api.client.post(
            "/graphql", json={"query": f"query Op{index} {{ a: __typename }}"}
        )
        assert response.status_code == 200
    junk = await api.client.post(
        "/graphql",
        json={"query": "query Fine { __typename }", "operationName": "Fine<script>"},
    )
    assert junk.status_code == 400  # no such operation: nothing ran, and no new series
    scrape = (await api.client.get("/metrics")).text
    mine = {name for name in OPERATION.findall(scrape) if re.fullmatch(r"Op\d+", name)}
    assert mine == {f"Op{index}" for index in range(metrics.MAX_OPERATION_LABELS)}
    last = metrics.MAX_OPERATION_LABELS + 49
    assert f'operation="Op{last}"' not in scrape  # past the cap: counted as other
    assert re.search(r'gotong_graphql_requests_total\{operation="other",outcome="ok"\} \d', scrape)
    assert 'operation="Fine' not in scrape


async def test_metrics_need_the_bearer_token_when_one_is_set(make_api):
    api = await make_api(metrics_token=SecretStr(METRICS_TOKEN))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        refused = await api.client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert "gotong_" not in refused.text
    allowed = await api.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200
    assert "gotong_graphql_requests_total" in allowed.text


async def test_production_serves_metrics_only_behind_the_token(make_api):
    hidden = await make_api(gotong_env="production")
    assert (await hidden.client.get("/metrics")).status_code == 404
    guarded = await make_api(gotong_env="production", metrics_token=SecretStr(METRICS_TOKEN))
    assert (await guarded.client.get("/metrics")).status_code == 401
    scraped = await guarded.client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert scraped.status_code == 200


@pytest.mark.parametrize("token", ["changeme", "short-token"])
def test_production_refuses_a_weak_metrics_token(token):
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings(gotong_env="production", jwt_secret=JWT_SECRET, metrics_token=token)
