"""One photo's way through the API for bench/evidence_upload.py, timed: request, PUT, confirm,
polls until VERIFIED; then the checks of what was stored and the server's own stamps."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any

import httpx
from evidence_photos import CAMERA, LATITUDE, LONGITUDE, Photo
from harness.base import BenchError
from harness.database import fetch
from harness.gql import GraphQLClient
from harness.processes import Process

from gotong_gql.graphql.ids import parse_global_id

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


def sign_in(api: GraphQLClient, username: str) -> str:
    """Registers `username`, signs in, creates a contribution; returns the contribution's id."""
    password = secrets.token_urlsafe(18)
    api.register(username, password)
    api.login(username, password)
    return api.payload("contributionCreate", CONTRIBUTE)["contribution"]["id"]


def upload(
    api: GraphQLClient,
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
    requested = api.payload("evidenceUploadRequest", REQUEST, variables)
    t_request = time.perf_counter()
    evidence_id, target = requested["evidence"]["id"], requested["upload"]
    if requested["evidence"]["status"] != "PENDING_UPLOAD" or target["method"] != "PUT":
        raise BenchError(f"unexpected evidenceUploadRequest answer: {requested}")
    headers = {header["name"]: header["value"] for header in target["headers"]}
    sent = put.put(target["url"], content=photo.data, headers=headers)
    t_upload = time.perf_counter()
    if sent.status_code not in (200, 201):
        raise BenchError(f"PUT answered {sent.status_code}: {sent.text[:500]}")
    confirmed = api.payload("evidenceUploadConfirm", CONFIRM, {"id": evidence_id})
    t_confirm, wall_confirm = time.perf_counter(), time.time()
    if confirmed["evidence"]["status"] != "PROCESSING":
        raise BenchError(f"unexpected evidenceUploadConfirm answer: {confirmed}")
    polls = 0
    while True:
        tick = time.perf_counter()
        status = api.data(STATUS, {"id": evidence_id})["evidence"]["status"]
        polls += 1
        if status != "PROCESSING":
            break
        if tick - t_confirm > verify_timeout:
            raise BenchError(f"evidence still PROCESSING after {verify_timeout:g} s")
        time.sleep(max(0.0, poll - (time.perf_counter() - tick)))
    t_done, wall_done = time.perf_counter(), time.time()
    details = api.data(DETAILS, {"id": evidence_id})["evidence"]
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
        fetch(
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


def inspect_seconds(worker: Process) -> float | None:
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
