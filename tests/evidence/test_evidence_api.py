"""Evidence through GraphQL on the embedded defaults: local object store, in-process jobs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from gotong_gql.evidence.service import process_evidence
from tests.e2e.server import cli
from tests.evidence.helpers import (
    CONFIRM,
    EVIDENCE,
    REQUEST,
    contributor_with_contribution,
    make_jpeg,
    put_object,
    task_contribution,
)
from tests.helpers import create_user, input_path, register

WIB = timezone(timedelta(hours=7))
SUBMIT = """mutation($input: EvidenceSubmitInput!) { evidenceSubmit(input: $input) {
  evidence { id status warnings { code } } errors { path code message } } }"""


def _stamp(delta: timedelta = timedelta(hours=-1)) -> datetime:
    return (datetime.now(WIB) + delta).replace(microsecond=0)


async def _request(api, account, contribution_id, **fields):
    variables = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "PHOTO_WITH_TIMESTAMP",
            "contentType": "image/jpeg",
            "sizeBytes": 60 * 1024,
            "timestamp": _stamp().isoformat(),
            **fields,
        }
    }
    return (await api.gql(REQUEST, variables, account.token))["evidenceUploadRequest"]


async def _processed(api, account, evidence_id):
    for _ in range(200):
        data = (await api.gql(EVIDENCE, {"id": evidence_id}, account.token))["evidence"]
        if data["status"] in ("VERIFIED", "REJECTED"):
            return data
        await asyncio.sleep(0.05)
    raise AssertionError("evidence was not processed")


async def _upload(api, account, contribution_id, body, **fields):
    requested = await _request(api, account, contribution_id, sizeBytes=len(body), **fields)
    assert requested["errors"] == [], requested["errors"]
    put = await put_object(api, requested["upload"], body, None)
    assert put.status_code == 201, put.text
    confirmed = await api.gql(CONFIRM, {"id": requested["evidence"]["id"]}, account.token)
    assert confirmed["evidenceUploadConfirm"]["errors"] == []
    assert confirmed["evidenceUploadConfirm"]["evidence"]["status"] == "PROCESSING"
    return requested["evidence"]["id"]


async def test_a_photo_is_hashed_read_and_verified(api):
    account, contribution_id = await contributor_with_contribution(api)
    captured = _stamp()
    photo = make_jpeg(captured=captured, latitude=-7.7956, longitude=110.3695)
    requested = await _request(
        api, account, contribution_id, sizeBytes=len(photo), timestamp=captured.isoformat()
    )
    upload = requested["upload"]
    assert upload["method"] == "PUT"
    assert upload["headers"] == [{"name": "Content-Type", "value": "image/jpeg"}]
    expires = datetime.fromisoformat(upload["expiresAt"])
    assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5, seconds=1)
    assert requested["evidence"]["status"] == "PENDING_UPLOAD"
    key = urlsplit(upload["url"]).path.removeprefix("/objects/")
    assert key.startswith(f"photos/{datetime.now(UTC):%Y/%m/%d}/")
    assert key.endswith(".jpg")

    put = await put_object(api, upload, photo, None)
    assert put.status_code == 201
    again = await put_object(api, upload, photo, None)
    assert again.status_code == 409  # never overwritten
    await api.gql(CONFIRM, {"id": requested["evidence"]["id"]}, account.token)
    evidence = await _processed(api, account, requested["evidence"]["id"])
    assert evidence["status"] == "VERIFIED"
    assert evidence["mediaHash"] == hashlib.sha256(photo).hexdigest()
    assert evidence["warnings"] == []
    assert (evidence["contentType"], evidence["sizeBytes"]) == ("image/jpeg", len(photo))
    exif = evidence["exif"]
    assert (exif["camera_make"], exif["camera_model"]) == ("Fairphone", "FP5")
    assert datetime.fromisoformat(exif["captured_at"]) == captured
    assert exif["latitude"] == pytest.approx(-7.7956, abs=1e-6)
    assert exif["longitude"] == pytest.approx(110.3695, abs=1e-6)
    assert exif["altitude_m"] == pytest.approx(114.5)
    assert evidence["fileUrl"].startswith("http://testserver/objects/photos/")  # the request's
    download = await api.client.get(evidence["fileUrl"])
    assert download.status_code == 200
    assert download.content == photo

    # No Markov URL here: the por_evidence event waits in the outbox, with the computed hash.
    (event,) = await api.sql("SELECT payload FROM webhook_events WHERE event_type = 'por_evidence'")
    payload = json.loads(bytes(event.payload))
    assert payload["event_type"] == "por_evidence"
    assert payload["proof"]["media_hash"] == hashlib.sha256(photo).hexdigest()

    # Running the job again changes nothing more.
    before = await api.table_counts()
    await process_evidence(api.services, str(await _evidence_uuid(api)))
    assert await api.table_counts() == before


async def _evidence_uuid(api):
    (row,) = await api.sql("SELECT id FROM evidence")
    return row.id


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"timestamp": "STALE"}, "INVALID_TIMESTAMP", "timestamp"),
        ({"timestamp": "FUTURE"}, "INVALID_TIMESTAMP", "timestamp"),
        ({"timestamp": "2026-11-20"}, "INVALID_TIMESTAMP", "timestamp"),
        ({"timestamp": "1795860000"}, "INVALID_TIMESTAMP", "timestamp"),
        ({"mediaHash": "a" * 31}, "INVALID_MEDIA_HASH", "mediaHash"),
        ({"mediaHash": "z" * 64}, "INVALID_MEDIA_HASH", "mediaHash"),
        (
            {"location": {"latitude": 95, "longitude": 10}},
            "INVALID_COORDINATES",
            "location.latitude",
        ),
        (
            {"location": {"latitude": 10, "longitude": -185}},
            "INVALID_COORDINATES",
            "location.longitude",
        ),
        ({"sizeBytes": 49 * 1024}, "INVALID_PAYLOAD", "sizeBytes"),
        ({"sizeBytes": 11 * 1024 * 1024}, "INVALID_PAYLOAD", "sizeBytes"),
        ({"contentType": "application/pdf"}, "INVALID_PAYLOAD", "contentType"),
        ({"evidenceType": "WITNESS_ATTESTATION"}, "INVALID_EVIDENCE_TYPE", "evidenceType"),
    ],
)
async def test_upload_requests_refused_synchronously_write_nothing(api, fields, code, field):
    account, contribution_id = await contributor_with_contribution(api)
    if fields.get("timestamp") == "STALE":
        fields["timestamp"] = _stamp(timedelta(days=-31)).isoformat()
    if fields.get("timestamp") == "FUTURE":
        fields["timestamp"] = _stamp(timedelta(hours=2)).isoformat()
    before = await api.table_counts()
    requested = await _request(api, account, contribution_id, **fields)
    assert requested["evidence"] is None
    assert [(e["code"], e["path"]) for e in requested["errors"]] == [(code, input_path(field))]
    assert await api.table_counts() == before


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"witnesses": []}, "MISSING_WITNESSES", "witnesses"),
        (
            {"witnesses": [{"witnessName": f"w{i}", "relationship": "PEER"} for i in range(11)]},
            "INVALID_PAYLOAD",
            "witnesses",
        ),
        (
            {"witnesses": [{"witnessName": " ", "relationship": "PEER"}]},
            "INVALID_PAYLOAD",
            "witnesses.0.witnessName",
        ),
        (
            {
                "witnesses": [
                    {"witnessName": "Pak Joko", "relationship": "PEER", "statement": "x" * 2001}
                ]
            },
            "INVALID_PAYLOAD",
            "witnesses.0.statement",
        ),
        ({"timestamp": "2026-11-20"}, "INVALID_TIMESTAMP", "timestamp"),
    ],
)
async def test_witness_attestations_refused_write_nothing(api, fields, code, field):
    account, contribution_id = await contributor_with_contribution(api)
    before = await api.table_counts()
    variables = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "WITNESS_ATTESTATION",
            "timestamp": _stamp().isoformat(),
            **fields,
        }
    }
    payload = (await api.gql(SUBMIT, variables, account.token))["evidenceSubmit"]
    assert payload["evidence"] is None
    assert [(e["code"], e["path"]) for e in payload["errors"]] == [(code, input_path(field))]
    assert await api.table_counts() == before


async def test_a_pdf_uploaded_as_a_photo_is_rejected(api):
    account, contribution_id = await contributor_with_contribution(api)
    pdf = b"%PDF-1.7\n" + os.urandom(60 * 1024)
    evidence_id = await _upload(api, account, contribution_id, pdf)
    evidence = await _processed(api, account, evidence_id)
    assert evidence["status"] == "REJECTED"
    assert evidence["rejectionReason"].startswith("the file is application/pdf, not one of")
    assert (
        await api.sql("SELECT event_id FROM webhook_events WHERE event_type = 'por_evidence'") == []
    )


async def test_a_claimed_hash_that_differs_rejects(api):
    account, contribution_id = await contributor_with_contribution(api)
    photo = make_jpeg(captured=_stamp())
    evidence_id = await _upload(api, account, contribution_id, photo, mediaHash="0" * 64)
    evidence = await _processed(api, account, evidence_id)
    assert evidence["status"] == "REJECTED"
    assert evidence["rejectionReason"] == ("the file's SHA-256 differs from the claimed media_hash")
    assert evidence["mediaHash"] == hashlib.sha256(photo).hexdigest()
    assert (
        await api.sql("SELECT event_id FROM webhook_events WHERE event_type = 'por_evidence'") == []
    )


async def test_gps_and_witness_evidence_with_warnings(api):
    account, contribution_id = await contributor_with_contribution(api)
    gps = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "GPS_VERIFICATION",
            "timestamp": _stamp().isoformat(),
            "location": {"latitude": -7.7956, "longitude": 110.3695, "accuracyMeters": 150},
        }
    }
    first = (await api.gql(SUBMIT, gps, account.token))["evidenceSubmit"]
    assert first["errors"] == []
    assert first["evidence"]["status"] == "VERIFIED"
    assert first["evidence"]["warnings"] == [{"code": "POOR_GPS_ACCURACY"}]
    far = {
        "input": {
            **gps["input"],
            "location": {"latitude": -7.7600, "longitude": 110.3800, "accuracyMeters": 5},
        }
    }
    second = (await api.gql(SUBMIT, far, account.token))["evidenceSubmit"]
    assert second["evidence"]["warnings"] == [{"code": "EVIDENCE_LOCATION_SPREAD"}]
    witness = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "WITNESS_ATTESTATION",
            "timestamp": _stamp(timedelta(days=-8)).isoformat(),
            "witnesses": [
                {
                    "witnessName": "Pak Joko",
                    "relationship": "SUPERVISOR",
                    "statement": "I saw it",
                    "contact": "+62 812",
                }
            ],
        }
    }
    third = (await api.gql(SUBMIT, witness, account.token))["evidenceSubmit"]
    assert [w["code"] for w in third["evidence"]["warnings"]] == [
        "EVIDENCE_TIME_SPREAD",
        "EVIDENCE_LOCATION_SPREAD",
    ]
    events = await api.sql("SELECT payload FROM webhook_events WHERE event_type = 'por_evidence'")
    payloads = [json.loads(bytes(e.payload)) for e in events]
    assert sorted(p["subject"]["evidence_type"] for p in payloads) == [
        "gps_verification",
        "gps_verification",
        "witness_attestation",
    ]
    attestation = next(
        p for p in payloads if p["subject"]["evidence_type"] == "witness_attestation"
    )
    assert attestation["proof"]["witnesses"] == [
        {"witness_name": "Pak Joko", "relationship": "supervisor", "statement": "I saw it"}
    ]
    score = await api.gql(
        "query($id: ID!) { contribution(id: $id) { evidenceQualityScore } }",
        {"id": contribution_id},
        account.token,
    )
    assert score["contribution"]["evidenceQualityScore"] == 0.85  # GPS, witness, accuracy < 10


async def test_evidence_is_visible_to_the_right_people_only(api):
    organizer, worker, contribution_id = await task_contribution(api)
    stranger = await register(api, "dewi")
    verifier = await create_user(api, "rahmat", ["verifier"])
    gps = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "GPS_VERIFICATION",
            "timestamp": _stamp().isoformat(),
            "location": {"latitude": 1.0, "longitude": 2.0},
        }
    }
    evidence_id = (await api.gql(SUBMIT, gps, worker.token))["evidenceSubmit"]["evidence"]["id"]
    query = """query($id: ID!, $c: ID!) { evidence(id: $id) { status latitude }
      contribution(id: $c) { title evidence(first: 5) { edges { node { latitude } } } } }"""
    for who, sees in ((worker, True), (organizer, True), (verifier, True), (stranger, False)):
        data = await api.gql(query, {"id": evidence_id, "c": contribution_id}, who.token)
        assert (data["evidence"] is not None) is sees, who.username
        assert (data["contribution"]["evidence"] is not None) is sees, who.username
        assert data["contribution"]["title"] == "River cleanup"  # the contribution is public
    node = await api.gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": evidence_id}, stranger.token
    )
    assert node["node"] is None
    adding = await api.gql(SUBMIT, gps, stranger.token)
    assert adding["evidenceSubmit"]["errors"][0]["code"] == "FORBIDDEN"


async def test_a_tampered_upload_url_is_refused(api):
    account, contribution_id = await contributor_with_contribution(api)
    photo = make_jpeg(captured=_stamp())
    requested = await _request(api, account, contribution_id, sizeBytes=len(photo))
    upload = dict(requested["upload"])
    upload["url"] = upload["url"].replace("signature=", "signature=0")
    assert (await put_object(api, upload, photo, None)).status_code == 403
    confirmed = await api.gql(CONFIRM, {"id": requested["evidence"]["id"]}, account.token)
    assert confirmed["evidenceUploadConfirm"]["errors"] == [
        {"path": ["input", "evidenceId"], "code": "NOT_UPLOADED"}
    ]


async def test_evidence_verify_finds_an_object_changed_behind_our_back(api, settings):
    account, contribution_id = await contributor_with_contribution(api)
    photo = make_jpeg(captured=_stamp())
    evidence_id = await _upload(api, account, contribution_id, photo)
    assert (await _processed(api, account, evidence_id))["status"] == "VERIFIED"
    env = {
        "DATABASE_URL": settings.database_url,
        "VAR_DIR": str(settings.var_dir),
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
    }
    clean = await asyncio.to_thread(cli, "evidence", "verify", env=env)
    assert clean.returncode == 0, clean.stderr
    assert "1 object(s) checked, 0 mismatch(es)" in clean.stderr

    (row,) = await api.sql("SELECT object_key FROM evidence")
    path = settings.var_dir / "objects" / row.object_key
    path.chmod(stat.S_IWUSR | stat.S_IRUSR)
    path.write_bytes(photo[:-10] + b"tampered!!")
    changed = await asyncio.to_thread(cli, "evidence", "verify", "--all", env=env)
    assert changed.returncode == 1
    assert f"MISMATCH {row.object_key}" in changed.stdout
    assert f"stored={hashlib.sha256(photo).hexdigest()}" in changed.stdout
