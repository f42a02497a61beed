"""The whole path of a photo, on the local store and on S3 (moto's server mode): a real JPEG
uploaded with a plain HTTP client to the presigned URL, confirmed, hashed by a real worker
process, and its `por_evidence` event received by a real receiver."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from moto.server import ThreadedMotoServer

from gotong_gql.settings import Settings
from tests.conftest import JWT_SECRET
from tests.e2e.processes import start_worker
from tests.evidence.helpers import (
    CONFIRM,
    EVIDENCE,
    REQUEST,
    contributor_with_contribution,
    make_jpeg,
    put_object,
)
from tests.helpers import uuid_text
from tests.webhook.conftest import (  # noqa: F401 (fixtures)
    MARKOV_SECRET,
    REDIS_URL,
    TIMINGS,
    eventually,
    markov,
    redis_client,
)

pytestmark = pytest.mark.slow
WIB = timezone(timedelta(hours=7))


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module", params=["local", "s3"])
def store_env(request, moto_endpoint, tmp_path_factory) -> dict[str, str]:
    env = {"VAR_DIR": str(tmp_path_factory.mktemp("shared-var"))}
    if request.param == "s3":
        env |= {
            "S3_ENDPOINT_URL": moto_endpoint,
            "S3_ACCESS_KEY": "testing",
            "S3_SECRET_KEY": "testing",
            "S3_BUCKET": "gotong-evidence-test",
        }
    return env


@pytest.fixture(scope="module")
def worker_env(database, markov, store_env) -> dict[str, str]:  # noqa: F811
    return {
        "DATABASE_URL": database.url,
        "REDIS_URL": REDIS_URL,
        "MARKOV_BASE_URL": markov.base_url,
        "MARKOV_WEBHOOK_SECRET": MARKOV_SECRET,
        "JWT_SECRET": JWT_SECRET,
        **store_env,
        **TIMINGS,
    }


@pytest.fixture(scope="module")
def worker(worker_env, tmp_path_factory, redis_client):  # noqa: F811
    redis_client.flushdb()
    process = start_worker(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    yield process
    process.stop()


@pytest.fixture
def settings(worker_env, markov, redis_client):  # noqa: F811
    """The API shares the worker's database, Redis, object store and Markov."""
    markov.reset()
    return Settings(**{key.lower(): value for key, value in worker_env.items()}, gotong_env="test")


async def test_a_photo_travels_from_the_phone_to_markov(api, markov, worker):  # noqa: F811
    account, contribution_id = await contributor_with_contribution(api)
    captured = (datetime.now(WIB) - timedelta(minutes=30)).replace(microsecond=0)
    photo = make_jpeg(captured=captured, latitude=-7.7956, longitude=110.3695, altitude=114.5)
    requested = (
        await api.gql(
            REQUEST,
            {
                "input": {
                    "contributionId": contribution_id,
                    "evidenceType": "PHOTO_WITH_TIMESTAMP",
                    "contentType": "image/jpeg",
                    "sizeBytes": len(photo),
                    "timestamp": captured.isoformat(),
                    "location": {"latitude": -7.7956, "longitude": 110.3695, "accuracyMeters": 8},
                    "mediaHash": hashlib.sha256(photo).hexdigest(),
                }
            },
            account.token,
        )
    )["evidenceUploadRequest"]
    assert requested["errors"] == []
    async with httpx.AsyncClient() as http:
        put = await put_object(api, requested["upload"], photo, http)
    assert put.status_code in (200, 201), put.text
    evidence_id = requested["evidence"]["id"]
    confirmed = await api.gql(CONFIRM, {"id": evidence_id}, account.token)
    assert confirmed["evidenceUploadConfirm"]["evidence"]["status"] == "PROCESSING"

    async def verified():
        data = (await api.gql(EVIDENCE, {"id": evidence_id}, account.token))["evidence"]
        return data if data["status"] != "PROCESSING" else None

    evidence = await eventually(verified)
    digest = hashlib.sha256(photo).hexdigest()
    assert evidence["status"] == "VERIFIED"
    assert evidence["mediaHash"] == digest
    exif = evidence["exif"]
    assert (exif["camera_make"], exif["camera_model"]) == ("Fairphone", "FP5")
    assert datetime.fromisoformat(exif["captured_at"]) == captured
    assert (round(exif["latitude"], 6), round(exif["longitude"], 6)) == (-7.7956, 110.3695)
    assert exif["altitude_m"] == pytest.approx(114.5)

    async def received():
        found = [
            e
            for e in markov.events()
            if e.get("payload") and e["payload"]["event_type"] == "por_evidence"
        ]
        return found or None

    (delivery,) = await eventually(received)
    payload = delivery["payload"]
    (row,) = await api.sql("SELECT id, object_key FROM evidence")
    assert payload["subject"]["contribution_id"] == uuid_text(
        (await api.sql("SELECT id FROM contributions"))[0].id
    )
    assert payload["subject"]["evidence_id"] == uuid_text(row.id)
    assert payload["subject"]["evidence_type"] == "photo_with_timestamp"
    assert payload["subject"]["evidence_data"]["exif"] == exif
    assert payload["subject"]["evidence_data"]["photo_url"].endswith(row.object_key)
    assert payload["proof"] == {
        "timestamp": captured.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "media_hash": digest,
        "location": {"lat": -7.7956, "lon": 110.3695},
    }
    body = base64.b64decode(delivery["body_b64"])
    assert json.loads(body) == payload
