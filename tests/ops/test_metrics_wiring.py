"""The API's /metrics behind its bearer token, as the deployment files wire it: every API
container gets METRICS_TOKEN, the Prometheus of the compose file reads the same value from a
secret and sends it to the API replicas only, the Kubernetes Secret template carries it, and the
alert on failing scrapes names the job that sends it. (tests/ops/test_deploy_wiring.py holds
the rest of the deployment checks and the helpers used here.)"""

from __future__ import annotations

import pytest

from gotong_gql.settings import Settings
from tests.ops.test_deploy_wiring import (
    PLACEHOLDER,
    PROMETHEUS,
    alert_rules,
    app_services,
    compose,
    compose_raw,
    environment,
    k8s_documents,
    kubernetes_env,
    load_yaml,
    settings_from_env,
)

SECRETS_DIR = "/run/secrets/"


def test_every_api_container_has_a_strong_metrics_token(monkeypatch: pytest.MonkeyPatch):
    assert "metrics_token" in Settings.model_fields
    for name, (service, argv) in app_services(compose()).items():
        if argv[1] != "serve":
            continue
        settings = settings_from_env(monkeypatch, environment(service))
        assert settings.is_production and settings.metrics_token is not None, name
    raw = compose_raw()["x-app-env"]["METRICS_TOKEN"]
    assert raw.startswith("${METRICS_TOKEN:?"), "required, never written in the file"


def test_prometheus_sends_the_token_to_the_api_and_only_there():
    config = load_yaml(PROMETHEUS)
    raw = compose_raw()
    prometheus = compose()["services"]["prometheus"]
    commands = {name: argv[1] for name, (_, argv) in app_services(compose()).items()}
    secrets = {
        (item if isinstance(item, str) else item["source"]): (
            SECRETS_DIR + (item if isinstance(item, str) else item.get("target", item["source"]))
        )
        for item in prometheus.get("secrets", [])
    }
    api_jobs = []
    for job in config["scrape_configs"]:
        hosts = {
            target.rsplit(":", 1)[0]
            for static in job["static_configs"]
            for target in static["targets"]
        }
        kinds = {commands[host] for host in hosts}
        assert len(kinds) == 1, f"{job['job_name']}: one kind of target per job"
        authorization = job.get("authorization")
        if kinds == {"serve"}:
            api_jobs.append(job["job_name"])
            assert authorization["type"] == "Bearer"
            (secret,) = [
                name for name, path in secrets.items() if path == authorization["credentials_file"]
            ]
            assert raw["secrets"][secret] == {"environment": "METRICS_TOKEN"}
        else:
            assert authorization is None, "the worker's port is not published: no token there"
    assert api_jobs
    (unreachable,) = [rule for rule in alert_rules() if rule["expr"].startswith("up{")]
    assert any(f'job="{job}"' in unreachable["expr"] for job in api_jobs)


def test_kubernetes_secret_template_carries_the_metrics_token(monkeypatch: pytest.MonkeyPatch):
    (secret,) = [doc for _, doc in k8s_documents() if doc["kind"] == "Secret"]
    assert PLACEHOLDER in secret["stringData"]["METRICS_TOKEN"]
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        settings_from_env(monkeypatch, kubernetes_env({"JWT_SECRET": "j" * 48}))
