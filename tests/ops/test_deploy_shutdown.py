"""The deployment files give `serve` and `worker` time to shut down gracefully: longer than
SHUTDOWN_TIMEOUT_SECONDS, before the container runtime sends SIGKILL."""

from __future__ import annotations

import re

from gotong_gql.settings import Settings
from tests.ops.test_deploy_wiring import (
    app_services,
    compose,
    environment,
    kubernetes_env,
    pod_spec,
    workload_by_command,
)

# What the process needs after the bound: cancel what is left, close its clients, exit.
CLEANUP_SECONDS = 5
COMPOSE_DEFAULT_GRACE_SECONDS = 10
DEFAULT_BOUND = Settings.model_fields["shutdown_timeout_seconds"].default


def _seconds(duration: str) -> float:
    """A compose duration: `20s`, `1m30s`, `500ms`."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def test_kubernetes_grace_period_outlasts_the_shutdown_bound():
    bound = float(kubernetes_env().get("SHUTDOWN_TIMEOUT_SECONDS", DEFAULT_BOUND))
    for command in ("serve", "worker"):
        grace = pod_spec(workload_by_command(command))["terminationGracePeriodSeconds"]
        assert grace >= bound + CLEANUP_SECONDS, command


def test_compose_stop_grace_period_outlasts_the_shutdown_bound():
    for name, (service, argv) in app_services(compose()).items():
        if argv[1] not in ("serve", "worker"):
            continue
        bound = float(environment(service).get("SHUTDOWN_TIMEOUT_SECONDS", DEFAULT_BOUND))
        grace = _seconds(service.get("stop_grace_period", f"{COMPOSE_DEFAULT_GRACE_SECONDS}s"))
        assert grace >= bound + CLEANUP_SECONDS, name
