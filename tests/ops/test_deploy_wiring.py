"""The deployment files, checked by reading them: Docker and Kubernetes do not run here.

Dockerfile, .dockerignore, deploy/docker-compose.yml, deploy/k8s/ (kustomize),
deploy/prometheus/ and .github/workflows/ci.yml are parsed and held against the code:
every command and option they run exists in the CLI (parsed by the CLI's own parser), every
environment variable is a Settings field (or a listed variable of another program), probe and
health-check paths are routes of the API or of the worker's health server, every metric (and
label) in an alert exists in gotong_gql.metrics, and the ports agree everywhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from prometheus_client.metrics import MetricWrapperBase

from gotong_gql import cli
from gotong_gql import metrics as metrics_module
from gotong_gql.app import create_app
from gotong_gql.graphiql import ASSET_DIR, ASSETS
from gotong_gql.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

CLI_NAME = "gotong-gql"
API_PORT = 8000
WORKER_PORT = 9100
WORKER_HEALTH_MODULE = "gotong_gql.worker_health"

SETTINGS_ENV = frozenset(name.upper() for name in Settings.model_fields)
# Variables of other programs, allowed only in their containers (never in ours).
THIRD_PARTY_ENV = frozenset(
    {
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "POSTGRES_HOST_AUTH_METHOD",
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
    }
)
# The image's own: the interpreter's and pip's.
IMAGE_ENV = frozenset(
    {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PIP_DISABLE_PIP_VERSION_CHECK"}
)
# Values that must never be written into a deployment file (only substituted or templated).
SECRET_ENV = frozenset(
    {
        "JWT_SECRET",
        "MARKOV_WEBHOOK_SECRET",
        "MARKOV_WEBHOOK_SECRET_PREVIOUS",
        "MARKOV_API_TOKEN",
        "S3_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "METRICS_TOKEN",
    }
)
# Compose's required substitutions: `up` stops when one is missing.
REQUIRED_COMPOSE_VARIABLES = frozenset(
    {
        "POSTGRES_PASSWORD",
        "MINIO_ROOT_PASSWORD",
        "JWT_SECRET",
        "MARKOV_WEBHOOK_SECRET",
        "METRICS_TOKEN",
    }
)
PLACEHOLDER = "REPLACE_ME"
# Labels Prometheus adds to every series, and the histogram's bucket label.
PROMETHEUS_LABELS = frozenset({"job", "instance", "le"})


# --- reading the files ---------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def dockerfile_stages() -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = []
    for keyword, arguments in dockerfile_instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append({"base": words[0], "name": name, "instructions": []})
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1]["instructions"].append((keyword, arguments))
    return stages


def instruction(stage: dict[str, Any], keyword: str) -> list[str]:
    return [arguments for key, arguments in stage["instructions"] if key == keyword]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"not the exec (JSON) form: {arguments}"
    return value


def dockerfile_env_names(stage: dict[str, Any]) -> set[str]:
    names = set()
    for arguments in instruction(stage, "ENV"):
        words = shlex.split(arguments)
        if "=" not in words[0]:  # the legacy `ENV NAME value` form
            names.add(words[0])
        else:
            names.update(word.split("=", 1)[0] for word in words)
    return names


def dockerignore_excludes(path: str) -> bool:
    """Whether the build context leaves `path` out (the last matching pattern decides)."""
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for raw in DOCKERIGNORE.read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch(candidate, pattern) for candidate in candidates):
            excluded = not negated
    return excluded


_SUBSTITUTION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed YAML document (keys and values)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def compose_variables() -> dict[str, str]:
    """Each substituted variable and how: "required" (`:?`/`?`), "default" or "plain"."""
    found: dict[str, str] = {}
    for match in (m for text in strings(compose_raw()) for m in _SUBSTITUTION.finditer(text)):
        name = match["braced"] or match["bare"]
        if not name:
            continue
        op = match["op"] or ""
        kind = "required" if "?" in op else "default" if "-" in op else "plain"
        if found.get(name) != "required":
            found[name] = kind
    return found


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's substitution in every string: ${V}, ${V:-d}, ${V-d}, ${V:?err}, $V, $$."""
    if isinstance(value, dict):
        return {interpolate(key, env): interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"] or "", match["arg"] or ""
        value = env.get(name)
        unset = value is None or (op.startswith(":") and value == "")
        if "?" in op and unset:
            raise KeyError(f"compose needs {name}: {arg}")
        if "-" in op and unset:
            return arg
        return value or ""

    return _SUBSTITUTION.sub(replace, value)


def compose_env_values() -> dict[str, str]:
    """A value for every substituted variable: a strong secret for the required ones."""
    return {
        name: f"{name.lower()}-{'x' * 40}" if kind == "required" else ""
        for name, kind in compose_variables().items()
    }


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as `docker compose config` would see it, with `env` substituted."""
    return interpolate(compose_raw(), compose_env_values() if env is None else env)


def compose_raw() -> dict[str, Any]:
    """The compose file without substitution: values still show `${...}`."""
    return load_yaml(COMPOSE)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def entrypoint() -> list[str]:
    runtime = dockerfile_stages()[-1]
    return exec_form(instruction(runtime, "ENTRYPOINT")[-1])


def default_command() -> list[str]:
    runtime = dockerfile_stages()[-1]
    return exec_form(instruction(runtime, "CMD")[-1])


def is_app_service(service: dict[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith(CLI_NAME)


def compose_argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command", default_command())
    if isinstance(command, str):
        command = shlex.split(command)
    return entrypoint() + list(command)


def app_services(config: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[str]]]:
    return {
        name: (service, compose_argv(service))
        for name, service in config["services"].items()
        if is_app_service(service)
    }


def k8s_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.y*ml")):
        if path.name.startswith("kustomization."):
            continue
        for document in load_yaml_documents(path):
            yield path, document


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    for _, document in k8s_documents():
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def k8s_workloads() -> Iterator[dict[str, Any]]:
    for _, document in k8s_documents():
        if document["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield document


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def container_argv(container: dict[str, Any]) -> list[str]:
    """What the container runs: a `command` replaces the image's ENTRYPOINT and its CMD."""
    if "command" in container:
        return [*container["command"], *container.get("args", [])]
    return [*entrypoint(), *container.get("args", default_command())]


def port_number(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    by_name = {item["name"]: item["containerPort"] for item in container.get("ports", [])}
    assert port in by_name, f"no container port named {port!r} (have {sorted(by_name)})"
    return by_name[port]


def workload_by_command(subcommand: str) -> dict[str, Any]:
    found = [
        workload
        for workload in k8s_workloads()
        if container_argv(only_container(workload))[1:2] == [subcommand]
    ]
    assert len(found) == 1, f"one workload running `{CLI_NAME} {subcommand}`, found {len(found)}"
    return found[0]


def parse_cli(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parses argv with the CLI's own parser (commands, options, types), running nothing.

    Returns the command path (`serve`, `webhooks replay`) and its parsed parameters."""
    assert argv and argv[0] == CLI_NAME, f"not a {CLI_NAME} command: {argv}"
    command: Any = typer.main.get_command(cli.app)
    args, path = list(argv[1:]), []
    while hasattr(command, "list_commands"):  # a group: the next word names a command
        assert args, f"{argv}: a command is missing after {' '.join([CLI_NAME, *path])}"
        name = args.pop(0)
        group = command
        command = group.get_command(typer.Context(group), name)
        assert command is not None, (
            f"{argv}: no command {name!r} (have {group.list_commands(typer.Context(group))})"
        )
        path.append(name)
    try:
        context = command.make_context(" ".join([CLI_NAME, *path]), args)
    except typer.TyperException as exc:
        pytest.fail(f"{argv} is refused by the CLI: {exc}")
    return " ".join(path), context.params


def url_port_and_path(text: str) -> tuple[int, str]:
    match = re.search(r"https?://[^/'\"\s]+(?::(\d+))?(/[^'\"\s)]*)", text)
    assert match, f"no URL in {text!r}"
    url = urlsplit(match[0])
    return url.port or 80, url.path


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


# --- what the code offers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_paths(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    tmp = tmp_path_factory.mktemp("ops")
    app = create_app(
        Settings(
            gotong_env="test",
            database_url=f"sqlite+aiosqlite:///{tmp / 'ops.db'}",
            jwt_secret="ops-test-" + "x" * 40,
            var_dir=tmp / "var",
        )
    )
    return {route.path for route in app.routes if hasattr(route, "path")}


def worker_paths() -> set[str]:
    if importlib.util.find_spec(WORKER_HEALTH_MODULE) is None:
        pytest.skip(
            f"{WORKER_HEALTH_MODULE} does not exist yet: the worker's health server (/healthz, "
            f"/readyz, /metrics on WORKER_METRICS_PORT) is not written, so its paths are unchecked"
        )
    return set(importlib.import_module(WORKER_HEALTH_MODULE).WORKER_PATHS)


def require_api_metrics_route(api_paths: set[str]) -> None:
    if "/metrics" not in api_paths:
        pytest.skip("the API has no /metrics route yet: the scrape path is unchecked")


def defined_metrics() -> dict[str, MetricWrapperBase]:
    """Every series name the metrics module exposes, with its metric object."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    series = {}
    for value in vars(metrics_module).values():
        if isinstance(value, MetricWrapperBase):
            for suffix in suffixes[value._type]:
                series[value._name + suffix] = value
    return series


def settings_from_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings as the container's process would build them from exactly `env`."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- CLI -----------------------------------------------------------------------------------


def test_the_image_runs_the_cli_installed_by_the_package():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts.get(CLI_NAME) == "gotong_gql.cli:app"
    assert entrypoint() == [CLI_NAME]
    command, params = parse_cli(entrypoint() + default_command())
    assert command == "serve"
    assert params["host"] == "0.0.0.0"
    assert params["port"] == API_PORT


def test_every_compose_command_exists_in_the_cli():
    commands = {}
    for name, (_, argv) in app_services(compose()).items():
        commands[name] = parse_cli(argv)[0]
    assert sorted(set(commands.values())) == ["migrate", "serve", "worker"], commands


def test_every_kubernetes_command_exists_in_the_cli():
    commands = {}
    for workload in k8s_workloads():
        container = only_container(workload)
        commands[workload["metadata"]["name"]] = parse_cli(container_argv(container))[0]
    assert sorted(commands.values()) == ["migrate", "serve", "worker"], commands


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_builds_a_wheel_and_runs_slim_as_a_non_root_user():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: a builder and a runtime"
    (builder,) = [stage for stage in stages if stage["name"] == "builder"]
    runtime = stages[-1]
    assert builder["name"], "the builder stage is named, for COPY --from"
    assert any("pip wheel" in run or "-m build" in run for run in instruction(builder, "RUN"))
    assert runtime["base"] == "python:3.11-slim"
    assert any(
        copy.startswith(f"--from={builder['name']} ") for copy in instruction(runtime, "COPY")
    ), "the runtime stage copies what the builder installed"
    users = instruction(runtime, "USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric USER, so that runAsNonRoot can verify it"


def test_dockerfile_exposes_the_api_and_worker_ports():
    runtime = dockerfile_stages()[-1]
    exposed = {
        int(port.split("/")[0]) for line in instruction(runtime, "EXPOSE") for port in line.split()
    }
    assert exposed == {API_PORT, WORKER_PORT}


def test_dockerfile_healthcheck_asks_healthz_with_python(api_paths: set[str]):
    runtime = dockerfile_stages()[-1]
    (healthcheck,) = instruction(runtime, "HEALTHCHECK")
    _, cmd, command = f" {healthcheck}".partition(" CMD ")
    assert cmd, f"HEALTHCHECK without CMD: {healthcheck}"
    argv = exec_form(command)
    assert argv[:2] == ["python", "-c"], "the slim image has no curl"
    snippet = argv[2]
    compile(snippet, "HEALTHCHECK", "exec")
    assert "curl" not in healthcheck and "wget" not in healthcheck
    assert "/healthz" in snippet and "/healthz" in api_paths
    assert str(API_PORT) in snippet
    assert "WORKER_METRICS_PORT" in snippet and str(WORKER_PORT) in snippet


def test_dockerfile_environment_names_are_settings():
    for stage in dockerfile_stages():
        unknown = dockerfile_env_names(stage) - SETTINGS_ENV - IMAGE_ENV
        assert not unknown, f"stage {stage['name']}: not Settings fields: {sorted(unknown)}"


def test_dockerignore_admits_only_the_build_inputs():
    builder = dockerfile_stages()[0]
    for copy in instruction(builder, "COPY"):
        *sources, _ = (word for word in copy.split() if not word.startswith("--"))
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not dockerignore_excludes(source), f"COPY {source}, but .dockerignore drops it"
    assert not dockerignore_excludes("gotong_gql/migrations/env.py")
    private = [
        ".venv/bin/python",
        "var/gotong.db",
        "var/jwt_secret",
        ".git/config",
        "tests/conftest.py",
        "gotong_gql/__pycache__/cli.cpython-311.pyc",
    ]
    for path in private:
        assert dockerignore_excludes(path), f".dockerignore lets {path} into the build"


def test_the_image_takes_graphiql_from_the_package_not_from_npm():
    """GraphiQL's assets are package data, committed: the build context admits them and no
    stage fetches them, so the image serves GraphiQL offline like any other install."""
    for name in ASSETS:
        path = (ASSET_DIR / name).relative_to(ROOT)
        assert (ROOT / path).is_file(), path
        assert not dockerignore_excludes(str(path)), f".dockerignore drops {path}"
    for stage in dockerfile_stages():
        assert stage["base"].startswith("python:"), f"a stage from {stage['base']}"
        for run in instruction(stage, "RUN"):
            assert "npm" not in run and "node" not in run, run


# --- docker compose ------------------------------------------------------------------------


def test_compose_runs_two_api_replicas_a_worker_and_a_one_shot_migration():
    config = compose()
    roles: dict[str, list[str]] = {}
    for name, (service, argv) in app_services(config).items():
        command, _ = parse_cli(argv)
        replicas = (service.get("deploy") or {}).get("replicas", 1)
        roles.setdefault(command, []).extend([name] * replicas)
    assert len(roles["serve"]) >= 2, roles
    assert len(roles["worker"]) == 1, roles
    assert len(roles["migrate"]) == 1, roles
    (migrate,) = roles["migrate"]
    assert config["services"][migrate].get("restart", "no") == "no"
    images = {service.get("image") for service, _ in app_services(config).values()}
    assert len(images) == 1, f"one image for every command: {images}"


def test_compose_api_and_worker_start_after_migration_and_bucket():
    config = compose()
    services = config["services"]
    migrations = [n for n, (_, argv) in app_services(config).items() if argv[1] == "migrate"]
    setup = services["minio-setup"]
    assert setup["image"].startswith("minio/mc")
    assert "mb" in " ".join(setup["command"]) and "S3_BUCKET" in " ".join(setup["command"])
    for name, (service, argv) in app_services(config).items():
        depends = service.get("depends_on") or {}
        if argv[1] == "migrate":
            assert depends["postgres"]["condition"] == "service_healthy"
            continue
        for one_shot in [*migrations, "minio-setup"]:
            assert depends[one_shot]["condition"] == "service_completed_successfully", name
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = dict.fromkeys(depends, "service_started")
        for dependency, rule in depends.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if isinstance(rule, dict) and rule.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency}: no healthcheck"


def test_compose_backing_services():
    services = compose()["services"]
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert services["redis"]["image"].split(":")[1].startswith("7")
    assert services["minio"]["image"].startswith("minio/minio")
    for name in ("postgres", "redis", "minio"):
        assert "healthcheck" in services[name], name


def test_compose_environment_names_are_settings():
    config = compose()
    for name, service in config["services"].items():
        names = set(environment(service))
        allowed = SETTINGS_ENV if is_app_service(service) else SETTINGS_ENV | THIRD_PARTY_ENV
        assert not names - allowed, f"{name}: not Settings fields: {sorted(names - allowed)}"
    substituted = set(compose_variables())
    unknown = substituted - SETTINGS_ENV - THIRD_PARTY_ENV
    assert not unknown, f"substituted variables that nothing reads: {sorted(unknown)}"


def test_compose_secrets_come_from_the_environment_never_the_file():
    raw = compose_raw()
    whole = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}$")
    for name, service in raw["services"].items():
        env = environment(service)
        for variable in SECRET_ENV & set(env):
            match = whole.match(env[variable])
            assert match, f"{name}: {variable} is written in the file"
            assert "-" not in (match["op"] or "") or not match["arg"], (
                f"{name}: {variable} has a default value in the file"
            )
        if "DATABASE_URL" in env:
            assert re.search(r"://[^:/@]+:\$\{[^}]+\}@", env["DATABASE_URL"]), (
                f"{name}: the database password in DATABASE_URL is not substituted"
            )
    variables = compose_variables()
    for variable in REQUIRED_COMPOSE_VARIABLES:
        assert variables.get(variable) == "required", f"{variable}: not `${{{variable}:?...}}`"
    with pytest.raises(KeyError, match="JWT_SECRET"):
        compose({**compose_env_values(), "JWT_SECRET": ""})


def test_compose_environment_makes_valid_production_settings(monkeypatch: pytest.MonkeyPatch):
    config = compose()
    services = config["services"]
    postgres_env = environment(services["postgres"])
    for name, (service, _) in app_services(config).items():
        settings = settings_from_env(monkeypatch, environment(service))
        assert settings.is_production, name
        database = urlsplit(settings.database_url)
        assert database.scheme == "postgresql+asyncpg"
        assert database.hostname in services and database.port == 5432
        assert database.username == postgres_env["POSTGRES_USER"]
        assert database.password == postgres_env["POSTGRES_PASSWORD"]
        assert database.path == "/" + postgres_env["POSTGRES_DB"]
        assert urlsplit(settings.redis_url).hostname == "redis"
        assert urlsplit(settings.s3_endpoint_url).hostname == "minio"
        assert settings.s3_bucket == environment(services["minio-setup"])["S3_BUCKET"]
        minio_password = environment(services["minio"])["MINIO_ROOT_PASSWORD"]
        assert settings.s3_secret_key.get_secret_value() == minio_password
        if "worker_metrics_port" in Settings.model_fields:
            assert settings.worker_metrics_port == WORKER_PORT


def test_compose_api_ports_and_health(api_paths: set[str]):
    config = compose()
    for name, (service, argv) in app_services(config).items():
        if argv[1] != "serve":
            continue
        _, params = parse_cli(argv)
        assert params["port"] == API_PORT, name
        published = [str(port).rsplit(":", 1) for port in service["ports"]]
        assert [container for _, container in published] == [str(API_PORT)], name
        port, path = url_port_and_path(healthcheck_text(service))
        assert port == API_PORT and path in api_paths, (name, port, path)
    host_ports = [
        str(port).rsplit(":", 1)[0]
        for service, argv in app_services(config).values()
        if argv[1] == "serve"
        for port in service["ports"]
    ]
    assert len(host_ports) == len(set(host_ports)), f"replicas share a host port: {host_ports}"


def test_compose_worker_port_and_health():
    config = compose()
    (worker,) = [s for s, argv in app_services(config).values() if argv[1] == "worker"]
    assert environment(worker)["WORKER_METRICS_PORT"] == str(WORKER_PORT)
    assert str(WORKER_PORT) in [str(port) for port in worker.get("expose", [])]
    port, path = url_port_and_path(healthcheck_text(worker))
    assert port == WORKER_PORT
    assert path in worker_paths()


# --- Kubernetes ----------------------------------------------------------------------------


def test_kustomization_lists_every_manifest():
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {path.name for path in K8S.glob("*.y*ml") if path.name != "kustomization.yaml"}
    assert listed == present
    namespaces = [doc for _, doc in k8s_documents() if doc["kind"] == "Namespace"]
    assert [doc["metadata"]["name"] for doc in namespaces] == [kustomization["namespace"]]
    image_names = {image["name"] for image in kustomization.get("images", [])}
    for workload in k8s_workloads():
        for container in pod_spec(workload)["containers"]:
            assert container["image"] in image_names, "kustomize `images` must rename it"


def test_kubernetes_environment_names_are_settings():
    defined = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in k8s_documents()}
    for (kind, name), document in defined.items():
        if kind in ("ConfigMap", "Secret"):
            keys = set(document.get("data") or {}) | set(document.get("stringData") or {})
            assert not keys - SETTINGS_ENV, f"{kind} {name}: {sorted(keys - SETTINGS_ENV)}"
    for workload in k8s_workloads():
        for container in pod_spec(workload)["containers"]:
            names = {item["name"] for item in container.get("env", [])}
            assert not names - SETTINGS_ENV, f"{container['name']}: {sorted(names - SETTINGS_ENV)}"
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in defined
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in defined


def kubernetes_env(secret_values: dict[str, str] | None = None) -> dict[str, str]:
    """What envFrom gives the containers: the ConfigMap, then the Secret (maybe filled in)."""
    env: dict[str, str] = {}
    for workload in k8s_workloads():
        for source in only_container(workload).get("envFrom", []):
            if "configMapRef" in source:
                env.update(k8s_object("ConfigMap", source["configMapRef"]["name"])["data"])
            if "secretRef" in source:
                secret = k8s_object("Secret", source["secretRef"]["name"])
                env.update(secret.get("stringData") or {})
    env.update(secret_values or {})
    return {name: str(value) for name, value in env.items()}


def test_kubernetes_secret_is_a_template_that_cannot_run(monkeypatch: pytest.MonkeyPatch):
    secrets = {
        doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc["kind"] == "Secret"
    }
    assert secrets
    for name, secret in secrets.items():
        assert "data" not in secret, f"Secret {name}: base64 data hides what is committed"
        for key, value in secret["stringData"].items():
            assert PLACEHOLDER in str(value), f"Secret {name}: {key} is not a placeholder"
    with pytest.raises(ValueError, match="JWT_SECRET"):
        settings_from_env(monkeypatch, kubernetes_env())
    filled = {
        key: "postgresql+asyncpg://gotong:pw@db.internal:5432/gotong"
        if key == "DATABASE_URL"
        else f"{key.lower()}-{'x' * 40}"
        for secret in secrets.values()
        for key in secret["stringData"]
    }
    settings = settings_from_env(monkeypatch, kubernetes_env(filled))
    assert settings.is_production
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url, "the worker needs REDIS_URL"


def test_kubernetes_api_deployment(api_paths: set[str]):
    api = workload_by_command("serve")
    assert api["kind"] == "Deployment"
    assert api["spec"]["replicas"] == 3
    container = only_container(api)
    _, params = parse_cli(container_argv(container))
    assert params["port"] == API_PORT
    assert [port["containerPort"] for port in container["ports"]] == [API_PORT]
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz" in api_paths
    assert liveness["httpGet"]["path"] == "/healthz" in api_paths
    for probe in (readiness, liveness):
        assert port_number(container, probe["httpGet"]["port"]) == API_PORT
    assert container["resources"]["requests"]["cpu"], "the HPA scales on requested CPU"
    assert container["resources"]["limits"]["memory"]


def test_kubernetes_api_service_and_hpa():
    api = workload_by_command("serve")
    container = only_container(api)
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    services = [doc for _, doc in k8s_documents() if doc["kind"] == "Service"]
    (service,) = services
    selector = service["spec"]["selector"]
    assert selector.items() <= pod_labels.items(), "the Service selects the API pods"
    for other in k8s_workloads():
        if other["metadata"]["name"] != api["metadata"]["name"] and other["kind"] != "Job":
            labels = other["spec"]["template"]["metadata"]["labels"]
            assert not selector.items() <= labels.items(), "the Service must not select the worker"
    for port in service["spec"]["ports"]:
        assert port_number(container, port["targetPort"]) == API_PORT
    hpas = [doc for _, doc in k8s_documents() if doc["kind"] == "HorizontalPodAutoscaler"]
    (hpa,) = hpas
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", api["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] <= api["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]


def test_kubernetes_worker_deployment():
    worker = workload_by_command("worker")
    assert worker["kind"] == "Deployment"
    container = only_container(worker)
    assert [port["containerPort"] for port in container["ports"]] == [WORKER_PORT]
    assert kubernetes_env()["WORKER_METRICS_PORT"] == str(WORKER_PORT)
    probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    for probe in probes.values():
        assert port_number(container, probe["port"]) == WORKER_PORT
    paths = worker_paths()
    assert {probe["path"] for probe in probes.values()} <= paths


def test_kubernetes_migration_job():
    job = workload_by_command("migrate")
    assert job["kind"] == "Job"
    assert pod_spec(job)["restartPolicy"] in ("OnFailure", "Never")


def test_kubernetes_selectors_match_their_pods():
    for workload in k8s_workloads():
        if workload["kind"] == "Job":
            continue
        selector = workload["spec"]["selector"]["matchLabels"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), workload["metadata"]["name"]


def test_kubernetes_pods_run_as_the_images_non_root_user():
    uid = int(instruction(dockerfile_stages()[-1], "USER")[-1].split(":")[0])
    for workload in k8s_workloads():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"].get("runAsUser", uid) == uid
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_kubernetes_prometheus_annotations(api_paths: set[str]):
    for command, port in {"serve": API_PORT, "worker": WORKER_PORT}.items():
        workload = workload_by_command(command)
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == port
        assert port in [p["containerPort"] for p in only_container(workload)["ports"]]
        assert annotations["prometheus.io/path"] == "/metrics"
    assert "/metrics" in worker_paths()
    require_api_metrics_route(api_paths)


# --- Prometheus ----------------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def test_alert_rules_are_complete():
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    expected = {  # the overview's alerts: the metric each reads and its threshold
        "gotong_graphql_requests_total": r">\s*0\.01\b",
        "gotong_graphql_request_duration_seconds_bucket": r">\s*0\.5\b",
        "gotong_webhook_deliveries_total": r">\s*0\.05\b",
        "gotong_db_pool_connections": r">\s*0\.9\b",
        "gotong_webhook_dead_letters_total": r"increase\(.*\)\s*\)?\s*>\s*0\b",
    }
    for metric, threshold in expected.items():
        matching = [r["expr"] for r in rules if metric in r["expr"]]
        assert matching, f"no alert reads {metric}"
        assert any(re.search(threshold, " ".join(expr.split())) for expr in matching), metric
    p95 = next(r["expr"] for r in rules if "_duration_seconds_bucket" in r["expr"])
    assert "histogram_quantile(0.95" in "".join(p95.split())
    (webhooks,) = [r["expr"] for r in rules if "gotong_webhook_deliveries_total" in r["expr"]]
    assert "dead_letter" in webhooks and "retry" in webhooks


def test_alert_expressions_use_defined_metrics_labels_and_values():
    series = defined_metrics()
    selector = re.compile(r"\b(gotong_[a-z0-9_]+)\s*(?:\{([^}]*)\})?")
    matcher = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
    grouping = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
    for rule in alert_rules():
        expr, used_labels = rule["expr"], set()
        for name, matchers in selector.findall(expr):
            assert name in series, f"{rule['alert']}: {name} is not defined in gotong_gql.metrics"
            metric = series[name]
            used_labels.update(metric._labelnames)
            for label, op, value in matcher.findall(matchers):
                assert label in (*metric._labelnames, *PROMETHEUS_LABELS), (
                    f"{rule['alert']}: {name} has no label {label}"
                )
                if op in ("=", "=~") and label in metric._labelnames:
                    for one in value.split("|") if op == "=~" else [value]:
                        # The help text of each labelled metric names its label values.
                        assert re.search(rf"\b{re.escape(one)}\b", metric._documentation), (
                            f"{rule['alert']}: {name}{{{label}={one!r}}}: a value the help "
                            f"text of {metric._name} does not name ({metric._documentation!r})"
                        )
        for labels in grouping.findall(expr):
            for label in filter(None, (item.strip() for item in labels.split(","))):
                assert label in used_labels | PROMETHEUS_LABELS, f"{rule['alert']}: {label}"


def test_pool_saturation_pairs_the_two_states():
    (expr,) = [r["expr"] for r in alert_rules() if "gotong_db_pool_connections" in r["expr"]]
    flat = " ".join(expr.split())
    assert 'state="in_use"' in flat and 'state="capacity"' in flat
    assert "ignoring(state)" in flat.replace(" (", "("), "series differing in `state` never pair"


def test_prometheus_scrapes_the_api_replicas_and_the_worker(api_paths: set[str]):
    config = load_yaml(PROMETHEUS)
    assert [Path(path).name for path in config["rule_files"]] == [ALERTS.name]
    services = compose()["services"]
    mounts = [str(volume) for volume in services["prometheus"]["volumes"]]
    for path in config["rule_files"]:
        assert any(m.endswith(f":{path}:ro") or m.endswith(f":{path}") for m in mounts), path
    commands = {name: argv[1] for name, (_, argv) in app_services(compose()).items()}
    scraped: dict[str, int] = {}
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                assert host in commands, f"{target}: not a gotong-gql service of the compose file"
                scraped[host] = int(port)
    for name, command in commands.items():
        if command == "serve":
            assert scraped.get(name) == API_PORT, name
        elif command == "worker":
            assert scraped.get(name) == WORKER_PORT, name
    assert "/metrics" in worker_paths()
    require_api_metrics_route(api_paths)


# --- the workers' health server and CI -------------------------------------------------------


def test_worker_health_port_setting():
    assert "WORKER_METRICS_PORT" in SETTINGS_ENV, "the worker's port is a setting"
    assert Settings.model_fields["worker_metrics_port"].default == WORKER_PORT
    assert {"/healthz", "/readyz", "/metrics"} <= worker_paths()


def test_github_workflow_runs_make_test_like_ci_run():
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    workflow = load_yaml(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    services = job["services"]
    assert services["postgres"]["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    compose_postgres = compose()["services"]["postgres"]["image"]
    assert services["postgres"]["image"] == compose_postgres, "the same PostgreSQL everywhere"
    assert services["redis"]["image"].startswith("redis:")
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(line.strip() == "make test" for run in runs for line in run.splitlines())
    assert any(re.search(r"apt-get install .*\bchromium(-browser)?\b", run) for run in runs)
    python = [
        str(step["with"]["python-version"])
        for step in job["steps"]
        if "setup-python" in step.get("uses", "")
    ]
    container = (job.get("container") or {}).get("image", "")
    assert python == ["3.11"] or container.startswith("python:3.11"), "Python 3.11"
