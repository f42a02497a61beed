"""Benchmark: a photo's way through evidence upload (issue 4), on the local store and on S3.

    .venv/bin/python bench/evidence_upload.py [--runs 5] [--memory-files 5] [--stores local,s3]

Creates a fresh PostgreSQL database and migrates it, flushes Redis DB 11, starts `moto_server`
(S3) on a free port of 127.0.0.1, and for each store `gotong-gql serve` and
`gotong-gql worker --threads 2` as subprocesses sharing one VAR_DIR. Through GraphQL it registers
a user, signs in and creates a contribution, then measures:

1. end to end, for --runs photos of 10 MB (real JPEGs with EXIF, noise pixels, padded after the
   end-of-image marker to --size bytes): `evidenceUploadRequest`, the HTTP PUT of the bytes to the
   returned URL, `evidenceUploadConfirm`, then `evidence(id) { status }` every --poll s until
   VERIFIED. Each photo is checked: VERIFIED, `mediaHash` equal to its SHA-256, its size, type and
   EXIF camera;
2. the worker's peak memory: for each size (1 MB, 10 MB) a fresh worker hashes --memory-files
   photos of that size; its VmHWM (/proc/<pid>/status) before the first and after the last.

Prints a markdown table and writes bench/results/evidence_upload.json. The processes are stopped,
Redis DB 11 flushed and the database dropped at the end, also after an error. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import math
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import piexif
import redis
from common import (
    BENCH_DIR,
    PG_ADMIN_DSN,
    REPO_DIR,
    cpu_seconds,
    database_url,
    free_port,
    git_state,
    log,
    machine_busy_seconds,
    percentile,
    pg_admin,
    venv_script,
)
from PIL import Image

from gotong_gql import migrate
from gotong_gql.evidence import media
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.settings import Settings
from gotong_gql.storage import LocalObjectStore

RESULTS_FILE = BENCH_DIR / "results" / "evidence_upload.json"

REDIS_URL = os.environ.get("GOTONG_BENCH_EVIDENCE_REDIS", "redis://127.0.0.1:6379/11")
MB = 1_000_000
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
QUIET_CORES = 0.3  # other processes' CPU use above which the machine is not quiet
TARGET_MS, GOAL_MS = 2000.0, 1000.0  # issue 4: under 2 s, aiming at under 1 s
WIB = timezone(timedelta(hours=7))
LATITUDE, LONGITUDE = -7.7956, 110.3695
CAMERA = ("Fairphone", "FP5")
S3_BUCKET = "gotong-evidence-bench"
# Noise pixels in a quality-100 4:4:4 JPEG cost about 4.1 bytes each: a photo is encoded just
# under its size, then padded after its end-of-image marker (readers ignore what follows it).
NOISE_BYTES_PER_PIXEL = 4.1
# The polling would hit the per-user limit (300/minute): the limiter stays on, with a high limit.
RATE_LIMITS = {"RATE_LIMIT_USER": "100000/minute", "RATE_LIMIT_IP": "100000/minute"}

REGISTER = """mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { user { id } errors { path code message } } }"""
LOGIN = """mutation($login: String!, $password: String!) {
  tokenCreate(input: {login: $login, password: $password}) {
    accessToken errors { path code message } } }"""
CONTRIBUTE = """mutation { contributionCreate(input: {contributionType: COMMUNITY_SERVICE,
  title: "Cleaned the river"}) { contribution { id } errors { path code message } } }"""
REQUEST = """mutation($input: EvidenceUploadRequestInput!) { evidenceUploadRequest(input: $input) {
  evidence { id status } upload { url method headers { name value } expiresAt }
  errors { path code message } } }"""
CONFIRM = """mutation($id: ID!) { evidenceUploadConfirm(input: {evidenceId: $id}) {
  evidence { id status } errors { path code message } } }"""
STATUS = """query($id: ID!) { evidence(id: $id) { status } }"""
DETAILS = """query($id: ID!) { evidence(id: $id) { status mediaHash sizeBytes contentType exif
  rejectionReason warnings { code } } }"""
PARTS = ("request", "upload", "confirm", "until_verified", "total")


class BenchError(RuntimeError):
    """A wrong answer, a process that did not start, a timeout: the run is worthless."""


# --- photos ---------------------------------------------------------------------------------


def _rational(value: float, denominator: int = 10000) -> tuple[int, int]:
    fraction = Fraction(value).limit_denominator(denominator)
    return fraction.numerator, fraction.denominator


def _dms(value: float) -> tuple[tuple[int, int], ...]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (degrees, 1), (minutes, 1), _rational(seconds)


def exif_bytes(captured: datetime) -> bytes:
    offset = captured.strftime("%z")
    return piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Make: CAMERA[0].encode(),
                piexif.ImageIFD.Model: CAMERA[1].encode(),
            },
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: captured.strftime("%Y:%m:%d %H:%M:%S").encode(),
                piexif.ExifIFD.OffsetTimeOriginal: f"{offset[:3]}:{offset[3:]}".encode(),
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"S",
                piexif.GPSIFD.GPSLatitude: _dms(LATITUDE),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: _dms(LONGITUDE),
                piexif.GPSIFD.GPSAltitudeRef: 0,
                piexif.GPSIFD.GPSAltitude: _rational(114.5, 100),
            },
        }
    )


@dataclass(frozen=True)
class Photo:
    data: bytes
    captured: datetime
    width: int
    height: int
    padding: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def make_photo(size: int) -> Photo:
    """A 4:3 JPEG of fresh noise with EXIF, exactly `size` bytes (padded after its EOI)."""
    captured = datetime.now(WIB).replace(microsecond=0)
    exif = exif_bytes(captured)
    pixels = size * 0.97 / NOISE_BYTES_PER_PIXEL
    width = max(64, int(math.sqrt(pixels * 4 / 3)) // 16 * 16)
    for _ in range(20):
        height = width * 3 // 4
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=100, subsampling=0, exif=exif)
        encoded = buffer.getvalue()
        if len(encoded) <= size:
            if not (encoded.startswith(b"\xff\xd8\xff") and encoded.endswith(b"\xff\xd9")):
                raise BenchError("Pillow wrote something that is not a whole JPEG")
            padding = size - len(encoded)
            return Photo(encoded + os.urandom(padding), captured, width, height, padding)
        width -= 16
    raise BenchError(f"could not make a JPEG of at most {size} bytes")


def make_photos(count: int, size: int) -> list[Photo]:
    photos = [make_photo(size) for _ in range(count)]
    if len({photo.sha256 for photo in photos}) != count:
        raise BenchError("two photos have the same SHA-256")
    return photos


# --- /proc ----------------------------------------------------------------------------------


def proc_status_kb(pid: int, name: str) -> int | None:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), or None (not Linux, process gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return None


def postgres_cpu_seconds(database: str) -> float | None:
    """CPU time of the PostgreSQL backends serving `database` (their title names it)."""
    total, marker = 0.0, f" {database} ".encode()
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and marker in title:
            total += cpu_seconds(int(entry.name)) or 0.0
    return total


@dataclass
class CpuWindow:
    """Cores used by the server, the worker, moto, the database's backends, this process and the
    rest of the machine between creation and `cores()`."""

    pids: dict[str, int | None]
    database: str
    started: float = field(default_factory=time.monotonic)
    before: dict[str, float | None] = field(default_factory=dict)

    def sample(self) -> dict[str, float | None]:
        values = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        values["postgres"] = postgres_cpu_seconds(self.database)
        values["bench"] = time.process_time()
        values["machine"] = machine_busy_seconds()
        return values

    def __post_init__(self) -> None:
        self.before = self.sample()

    def cores(self) -> dict[str, float | None]:
        after, seconds = self.sample(), time.monotonic() - self.started
        used: dict[str, float | None] = {}
        for name, end in after.items():
            start = self.before.get(name)
            used[name] = None if start is None or end is None else round((end - start) / seconds, 2)
        known = [value for name, value in used.items() if name != "machine" and value is not None]
        machine = used["machine"]
        used["other"] = None if machine is None else round(machine - sum(known), 2)
        return used


def background_cores(seconds: float = 1.0) -> float | None:
    """Cores busy on the machine over `seconds`, minus this process."""
    machine, mine = machine_busy_seconds(), time.process_time()
    time.sleep(seconds)
    after = machine_busy_seconds()
    if machine is None or after is None:
        return None
    return round(max(0.0, (after - machine - (time.process_time() - mine)) / seconds), 2)


def wait_for_quiet(max_wait: float) -> float | None:
    """Waits (at most max_wait s) until other processes use under QUIET_CORES; returns the last
    load seen, so that a run on a busy machine says so."""
    deadline = time.monotonic() + max_wait
    while True:
        load = background_cores()
        if load is None or load < QUIET_CORES or time.monotonic() >= deadline:
            if load is not None and load >= QUIET_CORES:
                log(f"the machine is busy: {load:.2f} cores used by other processes")
            return load


class RssSampler(threading.Thread):
    """Reads a process's VmRSS every `interval` s and keeps the highest."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.max_kb = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            value = proc_status_kb(self.pid, "VmRSS")
            if value is not None:
                self.max_kb = max(self.max_kb, value)
                self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


# --- processes, database, Redis -------------------------------------------------------------


CHILDREN: list[Child] = []  # every process started, stopped again at the very end


@dataclass
class Child:
    """One subprocess (`gotong-gql <command>`, `moto_server`), its output appended to a log."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def start(self, *, ready_line: str | None = None, ready_url: str | None = None) -> Child:
        """Spawns the process and waits until its log shows ready_line or ready_url answers."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        CHILDREN.append(self)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            if ready_line is not None and ready_line in self.output():
                break
            if ready_url is not None:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(ready_url, timeout=1.0).status_code < 500:
                        break
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                raise BenchError(
                    f"{self.name} not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{self.tail()}"
                )
            time.sleep(0.02)
        log(f"{self.name} ready (pid {self.pid}) in {time.monotonic() - started:.2f} s")
        return self

    def stop(self) -> None:
        """SIGTERM (the worker finishes its jobs in flight), SIGKILL after STOP_TIMEOUT_S."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s: SIGKILL")
            process.kill()
            process.wait(STOP_TIMEOUT_S)


def gotong(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Child:
    return Child(name, [venv_script("gotong-gql"), *args], env, log_dir / f"{name}.log")


def new_worker(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Child:
    """A worker; its health and metrics server (if this version has one) on a free port."""
    return gotong(name, args, {**env, "WORKER_METRICS_PORT": str(free_port())}, log_dir)


async def pg_fetch(database: str, sql: str, *params: Any) -> list[asyncpg.Record]:
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return await connection.fetch(sql, *params)
    finally:
        await connection.close()


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def clean_environ() -> dict[str, str]:
    """This process's environment without any gotong-gql setting (they come from the bench)."""
    names = {name.upper() for name in Settings.model_fields}
    return {key: value for key, value in os.environ.items() if key.upper() not in names}


# --- the client -----------------------------------------------------------------------------


class Api:
    """GraphQL over one keep-alive connection; every answer must be 200 without `errors`."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60.0)
        self.token: str | None = None

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        if response.status_code != 200:
            raise BenchError(f"/graphql answered {response.status_code}: {response.text[:500]}")
        body = response.json()
        if body.get("errors"):
            raise BenchError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def close(self) -> None:
        self.http.close()


def payload(data: dict[str, Any], name: str) -> dict[str, Any]:
    result = data[name]
    if result.get("errors"):
        raise BenchError(f"{name}: {result['errors']}")
    return result


def sign_in(api: Api, username: str) -> str:
    """Registers `username`, signs in, creates a contribution; returns the contribution's id."""
    password = secrets.token_urlsafe(18)
    account = {"username": username, "email": f"{username}@bench.example.org"}
    payload(api.gql(REGISTER, {"input": {**account, "password": password}}), "accountRegister")
    api.token = payload(api.gql(LOGIN, {"login": username, "password": password}), "tokenCreate")[
        "accessToken"
    ]
    return payload(api.gql(CONTRIBUTE), "contributionCreate")["contribution"]["id"]


def upload(
    api: Api,
    put: httpx.Client,
    contribution_id: str,
    photo: Photo,
    *,
    poll: float,
    verify_timeout: float,
) -> dict[str, Any]:
    """One photo end to end; the times in ms and wall-clock stamps (to match the audit log)."""
    digest = photo.sha256  # the phone computes it before it asks: not timed
    variables = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "PHOTO_WITH_TIMESTAMP",
            "contentType": "image/jpeg",
            "sizeBytes": len(photo.data),
            "timestamp": photo.captured.isoformat(),
            "location": {"latitude": LATITUDE, "longitude": LONGITUDE, "accuracyMeters": 8},
            "mediaHash": digest,
        }
    }
    t0 = time.perf_counter()
    requested = payload(api.gql(REQUEST, variables), "evidenceUploadRequest")
    t_request = time.perf_counter()
    evidence_id, target = requested["evidence"]["id"], requested["upload"]
    if requested["evidence"]["status"] != "PENDING_UPLOAD" or target["method"] != "PUT":
        raise BenchError(f"unexpected evidenceUploadRequest answer: {requested}")
    headers = {header["name"]: header["value"] for header in target["headers"]}
    sent = put.put(target["url"], content=photo.data, headers=headers)
    t_upload = time.perf_counter()
    if sent.status_code not in (200, 201):
        raise BenchError(f"PUT answered {sent.status_code}: {sent.text[:500]}")
    confirmed = payload(api.gql(CONFIRM, {"id": evidence_id}), "evidenceUploadConfirm")
    t_confirm, wall_confirm = time.perf_counter(), time.time()
    if confirmed["evidence"]["status"] != "PROCESSING":
        raise BenchError(f"unexpected evidenceUploadConfirm answer: {confirmed}")
    polls = 0
    while True:
        tick = time.perf_counter()
        status = api.gql(STATUS, {"id": evidence_id})["evidence"]["status"]
        polls += 1
        if status != "PROCESSING":
            break
        if tick - t_confirm > verify_timeout:
            raise BenchError(f"evidence still PROCESSING after {verify_timeout:g} s")
        time.sleep(max(0.0, poll - (time.perf_counter() - tick)))
    t_done, wall_done = time.perf_counter(), time.time()
    details = api.gql(DETAILS, {"id": evidence_id})["evidence"]
    exif = details["exif"] or {}
    problems = [
        f"status {details['status']} ({details['rejectionReason']})"
        if details["status"] != "VERIFIED"
        else None,
        f"mediaHash {details['mediaHash']} != {digest}" if details["mediaHash"] != digest else None,
        f"sizeBytes {details['sizeBytes']}" if details["sizeBytes"] != len(photo.data) else None,
        f"contentType {details['contentType']}" if details["contentType"] != "image/jpeg" else None,
        f"exif camera {exif.get('camera_make')!r}, {exif.get('camera_model')!r}"
        if (exif.get("camera_make"), exif.get("camera_model")) != CAMERA
        else None,
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise BenchError(f"evidence {evidence_id} is wrong: {'; '.join(problems)}")
    return {
        "evidence_id": evidence_id,
        "bytes": len(photo.data),
        "ms": {
            "request": (t_request - t0) * 1000,
            "upload": (t_upload - t_request) * 1000,
            "confirm": (t_confirm - t_upload) * 1000,
            "until_verified": (t_done - t_confirm) * 1000,
            "total": (t_done - t0) * 1000,
        },
        "polls": polls,
        "wall_confirmed": wall_confirm,
        "wall_verified_seen": wall_done,
        "warnings": [warning["code"] for warning in details["warnings"]],
    }


def add_server_times(database: str, runs: list[dict[str, Any]]) -> None:
    """From the audit log: when the confirm and the verdict were recorded (each process's clock,
    the same machine's): `job` = verdict - confirm, `seen` = first poll to see it - verdict."""
    rows = asyncio.run(
        pg_fetch(
            database,
            "SELECT entity_id, action, at FROM audit_log WHERE entity = 'evidence'"
            " AND action IN ('evidence.upload_confirm', 'evidence.verified')",
        )
    )
    stamps: dict[tuple[uuid.UUID, str], float] = {
        (row["entity_id"], row["action"]): row["at"].timestamp() for row in rows
    }
    for run in runs:
        key = parse_global_id(run["evidence_id"], "Evidence", "id")
        confirmed = stamps.get((key, "evidence.upload_confirm"))
        verified = stamps.get((key, "evidence.verified"))
        if confirmed is None or verified is None:
            raise BenchError(f"no audit entries for evidence {key}")
        run["ms"]["server_job"] = (verified - confirmed) * 1000
        run["ms"]["verdict_to_seen"] = (run["wall_verified_seen"] - verified) * 1000


# --- statistics -----------------------------------------------------------------------------


def summary_ms(values: list[float]) -> dict[str, float | int | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(values),
        "mean": rounded(statistics.fmean(values) if values else None),
        "p50": rounded(percentile(values, 0.50)),
        "min": rounded(min(values) if values else None),
        "max": rounded(max(values) if values else None),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = list(runs[0]["ms"]) if runs else []
    totals = [run["ms"]["total"] for run in runs]
    return {
        "ms": {
            name: summary_ms([run["ms"][name] for run in runs if run["ms"][name] is not None])
            for name in names
        },
        "under_target": sum(total < TARGET_MS for total in totals),
        "under_goal": sum(total < GOAL_MS for total in totals),
        "polls_mean": round(statistics.fmean(run["polls"] for run in runs), 1) if runs else None,
    }


def rounded_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **run,
            "ms": {
                name: None if value is None else round(value, 1)
                for name, value in run["ms"].items()
            },
        }
        for run in runs
    ]


# --- the measurements -----------------------------------------------------------------------


def hash_reference(photo: Photo, repeats: int = 3) -> dict[str, Any]:
    """The job's own read and inspection of one object, in this process: `inspect_stream` over
    `LocalObjectStore.iter_chunks` of a file in the page cache (best of `repeats`)."""

    async def inspect(store: LocalObjectStore, key: str) -> media.MediaFacts:
        async with contextlib.aclosing(store.iter_chunks(key)) as chunks:
            return await media.inspect_stream(chunks)

    with tempfile.TemporaryDirectory(prefix="gotong-bench-hash-") as root:
        store = LocalObjectStore(root=Path(root), base_url="http://127.0.0.1", secret=b"bench")
        key = "photos/bench.jpg"
        store.path_for(key).parent.mkdir(parents=True)
        store.path_for(key).write_bytes(photo.data)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            facts = asyncio.run(inspect(store, key))
            times.append((time.perf_counter() - started) * 1000)
        plain = time.perf_counter()
        hashlib.sha256(photo.data).hexdigest()
        sha_only = (time.perf_counter() - plain) * 1000
    if facts.sha256 != photo.sha256 or facts.exif is None:
        raise BenchError("inspect_stream disagrees with hashlib on the reference photo")
    return {
        "bytes": len(photo.data),
        "inspect_stream_ms": round(min(times), 1),
        "hashlib_sha256_ms": round(sha_only, 1),
    }


def inspect_seconds(worker: Child) -> float | None:
    """`gotong_evidence_processing_seconds_sum` on the worker's /metrics (the read and
    `inspect_stream` of each job, timed by the worker itself), or None without that metric."""
    port = worker.env.get("WORKER_METRICS_PORT")
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith("gotong_evidence_processing_seconds_sum "):
            return float(line.split()[1])
    return None


def reset_peak_rss(pid: int) -> bool:
    """Writes 5 to /proc/<pid>/clear_refs, which sets VmHWM to the current VmRSS (Linux >= 4.0).

    Without it the worker's VmHWM is its start-up peak (imports, set-up), some 25 MB above the
    RSS it then runs at, and a job would have to exceed that before VmHWM moved at all."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_memory(
    args: argparse.Namespace, worker: Child, size: int, one: Callable[[Photo], dict[str, Any]]
) -> dict[str, Any]:
    """A fresh worker's peak RSS over --memory-files photos of `size` bytes."""
    photos = make_photos(args.memory_files, size)
    worker.start(ready_line="worker started")
    time.sleep(1.0)  # its sweeper's first pass and the consumers' first polls
    pid = worker.pid
    startup_hwm = proc_status_kb(pid, "VmHWM")
    reset = reset_peak_rss(pid)
    before_rss = proc_status_kb(pid, "VmRSS")
    baseline = proc_status_kb(pid, "VmHWM") if reset else startup_hwm
    sampler = RssSampler(pid)
    sampler.start()
    try:
        timed = [one(photo) for photo in photos]
    finally:
        sampler.stop()
    after_hwm = proc_status_kb(pid, "VmHWM")
    after_rss = proc_status_kb(pid, "VmRSS")
    worker.stop()
    if None in (startup_hwm, before_rss, baseline, after_hwm, after_rss):
        raise BenchError("could not read the worker's /proc/<pid>/status")
    assert startup_hwm and before_rss and baseline and after_hwm and after_rss

    def mb(kb: int) -> float:
        return round(kb / 1024, 1)

    return {
        "size_bytes": size,
        "files": args.memory_files,
        "vmhwm_startup_mb": mb(startup_hwm),
        "peak_reset": reset,
        "vmrss_before_mb": mb(before_rss),
        "vmhwm_baseline_mb": mb(baseline),
        "vmhwm_after_mb": mb(after_hwm),
        "peak_growth_mb": mb(after_hwm - baseline),
        "vmrss_after_mb": mb(after_rss),
        "vmrss_max_sampled_mb": mb(sampler.max_kb),
        "rss_samples": sampler.samples,
        "total_ms": summary_ms([run["ms"]["total"] for run in timed]),
    }


@dataclass
class Store:
    name: str
    env: dict[str, str]


def measure_store(
    args: argparse.Namespace, store: Store, base_env: dict[str, str], log_dir: Path, moto: Any
) -> dict[str, Any]:
    port = free_port()
    env = {
        **base_env,
        **store.env,
        "VAR_DIR": str(log_dir / f"var-{store.name}"),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = gotong("server-" + store.name, ["serve", "--port", str(port)], env, log_dir)
    worker_args = ["worker", "--threads", str(args.threads)]
    workers: list[Child] = []
    api = Api(f"http://127.0.0.1:{port}")
    put = httpx.Client(timeout=120.0)
    try:
        server.start(ready_url=f"http://127.0.0.1:{port}/readyz")
        worker = new_worker(f"worker-{store.name}-e2e", worker_args, env, log_dir)
        workers.append(worker)
        worker.start(ready_line="worker started")
        contribution_id = sign_in(api, f"bench_{store.name}")

        def one(photo: Photo) -> dict[str, Any]:
            return upload(
                api,
                put,
                contribution_id,
                photo,
                poll=args.poll,
                verify_timeout=args.verify_timeout,
            )

        def scraped(photo: Photo) -> dict[str, Any]:
            """`one`, and the job's read + inspection from the worker's own histogram."""
            before = inspect_seconds(worker)
            done = one(photo)
            after = inspect_seconds(worker)
            done["ms"]["worker_inspect"] = (
                None if before is None or after is None else (after - before) * 1000
            )
            return done

        # 1. End to end, one warm-up (first connections, lazy imports) then --runs.
        photos = make_photos(args.runs + 1, args.size)
        warmup = scraped(photos[0])
        log(f"{store.name}: warm-up {warmup['ms']['total']:.0f} ms")
        quiet = wait_for_quiet(args.quiet_wait)
        pids = {"server": server.pid, "worker": worker.pid, "moto": moto.pid if moto else None}
        window = CpuWindow(pids, args.database)
        load_before = os.getloadavg()
        runs = []
        for photo in photos[1:]:
            runs.append(scraped(photo))
            log(f"{store.name}: {args.size / MB:g} MB in {runs[-1]['ms']['total']:.0f} ms")
        cores = window.cores()
        add_server_times(args.database, [warmup, *runs])
        worker.stop()

        # 2. The worker's peak memory, a fresh worker per size.
        memory = []
        for size in args.memory_sizes:
            worker = new_worker(f"worker-{store.name}-{size}", worker_args, env, log_dir)
            workers.append(worker)
            memory.append(measure_memory(args, worker, size, one))
            log(
                f"{store.name}: worker peak {memory[-1]['vmhwm_after_mb']} MB"
                f" ({memory[-1]['peak_growth_mb']:+g} MB) after {args.memory_files}"
                f" x {size / MB:g} MB"
            )
        return {
            "store": store.name,
            "background_cpu_cores_before": quiet,
            "loadavg_before": [round(value, 2) for value in load_before],
            "cpu_cores": cores,
            "warmup": rounded_runs([warmup])[0],
            "summary": summarize(runs),
            "runs": rounded_runs(runs),
            "memory": memory,
        }
    except BenchError as exc:
        logs = "\n".join(f"--- {child.name}:\n{child.tail(20)}" for child in [server, *workers])
        raise BenchError(f"{store.name}: {exc}\n{logs}") from None
    finally:
        api.close()
        put.close()
        for child in [*workers, server]:
            child.stop()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """BenchError in the main thread after `seconds` (SIGALRM), whatever it is waiting on."""

    def expire(signum: int, frame: Any) -> None:
        raise BenchError(f"the run took longer than --timeout {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def benchmark(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    git = git_state()  # before the run: the tree may change while it runs
    base_env = {
        **clean_environ(),
        "GOTONG_ENV": "development",
        "DATABASE_URL": database_url(args.database),
        "REDIS_URL": REDIS_URL,
        "JWT_SECRET": secrets.token_urlsafe(48),
        **RATE_LIMITS,
    }
    moto = None
    stores = []
    try:
        for name in args.stores:
            if name == "local":
                stores.append(Store("local", {}))
                continue
            moto_port = free_port()
            moto = Child(
                "moto",
                [venv_script("moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                clean_environ(),
                log_dir / "moto.log",
            ).start(ready_url=f"http://127.0.0.1:{moto_port}/moto-api/")
            stores.append(
                Store(
                    "s3",
                    {
                        "S3_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
                        "S3_ACCESS_KEY": "testing",
                        "S3_SECRET_KEY": "testing",
                        "S3_BUCKET": S3_BUCKET,
                    },
                )
            )
        reference = hash_reference(make_photo(args.size))
        log(f"inspect_stream of {args.size / MB:g} MB in this process: {reference}")
        results = [measure_store(args, store, base_env, log_dir, moto) for store in stores]
    finally:
        if moto is not None:
            moto.stop()
    return {
        "benchmark": "evidence_upload",
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": git,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_end": [round(value, 2) for value in os.getloadavg()],
        },
        "config": {
            "runs": args.runs,
            "size_bytes": args.size,
            "poll_seconds": args.poll,
            "memory_files": args.memory_files,
            "memory_sizes": args.memory_sizes,
            "worker_threads": args.threads,
            "target_ms": TARGET_MS,
            "goal_ms": GOAL_MS,
            "rate_limits": RATE_LIMITS,
        },
        "hash_reference": reference,
        "stores": results,
    }


# --- report ---------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    def value(number: Any) -> str:
        return "n/a" if number is None else f"{number:g}"

    config = report["config"]
    size = config["size_bytes"] / MB
    labels = {
        "request": "evidenceUploadRequest",
        "upload": "PUT of the bytes",
        "confirm": "evidenceUploadConfirm",
        "until_verified": "confirm -> VERIFIED seen (polled)",
        "server_job": "  of which: confirm -> verdict (audit log)",
        "worker_inspect": "    of which: the job's read + inspect_stream (worker /metrics)",
        "verdict_to_seen": "  of which: verdict -> seen by a poll",
        "total": "**total**",
    }
    lines = [
        f"| {size:g} MB photo | part | mean ms | p50 ms | max ms |",
        "|---|---|---:|---:|---:|",
    ]
    for result in report["stores"]:
        summary = result["summary"]
        for name, label in labels.items():
            ms = summary["ms"].get(name)
            if ms is None or not ms["count"]:
                continue
            lines.append(
                f"| {result['store']} | {label} | {value(ms['mean'])} | {value(ms['p50'])} "
                f"| {value(ms['max'])} |"
            )
    lines += ["", "| store | runs | < 2 s | < 1 s | polls / photo | CPU cores during the runs |"]
    lines.append("|---|---:|---:|---:|---:|---|")
    for result in report["stores"]:
        summary = result["summary"]
        cores = ", ".join(f"{name} {value(used)}" for name, used in result["cpu_cores"].items())
        lines.append(
            f"| {result['store']} | {summary['ms']['total']['count']} | {summary['under_target']} "
            f"| {summary['under_goal']} | {value(summary['polls_mean'])} | {cores} |"
        )
    lines += [
        "",
        "| store | file | files | worker VmHWM at start-up MB | RSS before the jobs MB "
        "| **peak (VmHWM) after the jobs MB** | **peak growth MB** | max RSS sampled MB "
        "| total p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in report["stores"]:
        for memory in result["memory"]:
            lines.append(
                f"| {result['store']} | {memory['size_bytes'] / MB:g} MB | {memory['files']} "
                f"| {value(memory['vmhwm_startup_mb'])} | {value(memory['vmrss_before_mb'])} "
                f"| {value(memory['vmhwm_after_mb'])} | {value(memory['peak_growth_mb'])} "
                f"| {value(memory['vmrss_max_sampled_mb'])} | {value(memory['total_ms']['p50'])} |"
            )
    reset = all(m["peak_reset"] for r in report["stores"] for m in r["memory"])
    reference = report["hash_reference"]
    loads = ", ".join(
        f"{r['store']}: {value(r['background_cpu_cores_before'])} cores, loadavg "
        f"{' '.join(f'{v:g}' for v in r['loadavg_before'])}"
        for r in report["stores"]
    )
    lines += [
        "",
        f"Targets (issue 4): < {TARGET_MS / 1000:g} s, goal < {GOAL_MS / 1000:g} s. Polling every"
        f" {config['poll_seconds'] * 1000:g} ms; `gotong-gql worker --threads"
        f" {config['worker_threads']}`, S3 = moto_server. The job's read + inspect_stream of"
        f" {reference['bytes'] / MB:g} MB in one process: {reference['inspect_stream_ms']:g} ms"
        f" (hashlib alone {reference['hashlib_sha256_ms']:g} ms). Other processes before the"
        f" runs: {loads}; {report['machine']['cpus']} CPUs. Memory: a fresh worker per row;"
        + (
            " VmHWM reset (/proc/<pid>/clear_refs) after start-up, so the peak is the jobs'."
            if reset
            else " VmHWM could not be reset: the peak includes start-up."
        ),
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured photos per store")
    parser.add_argument("--size", type=int, default=10 * MB, help="bytes per measured photo")
    parser.add_argument("--stores", default="local,s3", help="comma-separated: local, s3")
    parser.add_argument(
        "--memory-files", type=int, default=5, help="photos per fresh worker in the memory part"
    )
    parser.add_argument(
        "--memory-sizes",
        default=f"{1 * MB},{10 * MB}",
        help="comma-separated photo sizes (bytes) of the memory part",
    )
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between status polls")
    parser.add_argument("--threads", type=int, default=2, help="worker threads")
    parser.add_argument(
        "--verify-timeout", type=float, default=60.0, help="fail if a photo is not verified by then"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait at most for other processes to go quiet before the runs",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="fail if the whole run takes longer"
    )
    parser.add_argument("--database", default="gotong_bench_evidence", help="created, dropped")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the temporary directory (process logs, stored objects) and print its path",
    )
    args = parser.parse_args()
    args.stores = [name.strip() for name in args.stores.split(",") if name.strip()]
    if (
        not args.stores
        or set(args.stores) - {"local", "s3"}
        or len(set(args.stores)) < len(args.stores)
    ):
        parser.error("--stores: local and/or s3, each once")
    try:
        args.memory_sizes = [int(size) for size in args.memory_sizes.split(",") if size.strip()]
    except ValueError:
        parser.error("--memory-sizes: integers")
    sizes = [args.size, *args.memory_sizes]
    if not all(media.MIN_PHOTO_BYTES <= size <= media.MAX_PHOTO_BYTES for size in sizes):
        parser.error(f"sizes are {media.MIN_PHOTO_BYTES}..{media.MAX_PHOTO_BYTES} bytes")
    if not 1 <= args.runs <= 1000 or not 1 <= args.memory_files <= 100:
        parser.error("--runs is 1..1000 and --memory-files 1..100")
    if not 0.001 <= args.poll <= 5 or not 1 <= args.threads <= 64:
        parser.error("--poll is 0.001..5 s and --threads 1..64")
    if not 0 <= args.quiet_wait <= 600 or not 10 <= args.timeout <= 7200:
        parser.error("--quiet-wait is 0..600 s and --timeout 10..7200 s")
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and _ only")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    drop = f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'
    work_dir = Path(tempfile.mkdtemp(prefix="gotong-bench-evidence-"))  # logs, VAR_DIRs
    with deadline(args.timeout):
        try:
            asyncio.run(pg_admin(drop))
            asyncio.run(pg_admin(f'CREATE DATABASE "{args.database}"'))
            log(f"created database {args.database}")
            flush_redis()
            migrate.upgrade(database_url(args.database))  # runs its own event loop
            return benchmark(args, work_dir)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)  # the cleanup must not be cut short
            try:
                for child in CHILDREN:
                    child.stop()
                flush_redis()
            finally:
                asyncio.run(pg_admin(drop))
                log(f"flushed {REDIS_URL}, dropped database {args.database}")
                if args.keep_logs:
                    log(f"logs and stored objects kept in {work_dir}")
                else:
                    shutil.rmtree(work_dir, ignore_errors=True)


def main() -> None:
    args = parse_args()
    try:
        report = run(args)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        log("interrupted")
        raise SystemExit(130) from None
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    log(f"wrote {RESULTS_FILE.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()
