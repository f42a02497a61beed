"""gotong_gql.storage: the local store through its HTTP routes (served for real and S3:
test_storage_served.py; keys and signatures: test_storage_keys.py)."""

from __future__ import annotations

import asyncio
import math
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from minio import Minio
from starlette.applications import Starlette

from gotong_gql.settings import Settings
from gotong_gql.storage import create_store
from gotong_gql.storage.keys import evidence_key
from gotong_gql.storage.local import LocalObjectStore
from gotong_gql.storage.local_routes import object_routes
from gotong_gql.storage.protocol import (
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectStore,
    ObjectStoreError,
    ObjectTooLargeError,
    request_base_url,
)
from gotong_gql.storage.s3 import S3ObjectStore
from gotong_gql.storage.signing import derive_object_url_key, sign_object_url
from tests.evidence.storage_support import (
    CONTRIBUTION,
    JWT_SECRET,
    MAX,
    PHOTO,
    SECRET,
    USER,
    Clock,
    body_in_chunks,
    leftovers,
    new_key,
    with_query,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def local(tmp_path: Path, clock: Clock) -> LocalObjectStore:
    store = LocalObjectStore(
        root=tmp_path / "objects", base_url="http://testserver", secret=SECRET, clock=clock
    )
    await store.ensure_ready()
    return store


@pytest.fixture
async def client(local: LocalObjectStore) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=object_routes(local))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_local_store_satisfies_the_protocol(local: LocalObjectStore) -> None:
    assert isinstance(local, ObjectStore)


async def test_local_upload_then_download(
    local: LocalObjectStore, client: httpx.AsyncClient, clock: Clock
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    assert upload.method == "PUT"
    assert upload.headers == {"Content-Type": "image/jpeg"}
    assert upload.expires_at == datetime.fromtimestamp(math.ceil(clock.now + 300), UTC)
    assert upload.url.startswith(f"http://testserver/objects/{key}?")

    response = await client.put(upload.url, content=PHOTO, headers=upload.headers)

    assert response.status_code == 201, response.text
    assert response.json() == {"key": key, "size": len(PHOTO)}
    info = await local.stat(key)
    assert info is not None
    assert (info.key, info.size, info.content_type) == (key, len(PHOTO), "image/jpeg")
    assert response.headers["etag"] == f'"{info.etag}"'
    assert b"".join([chunk async for chunk in local.iter_chunks(key, 4096)]) == PHOTO
    assert stat.S_IMODE(local.path_for(key).stat().st_mode) & 0o222 == 0
    assert leftovers(local.root) == []

    download = await client.get(await local.presign_get(key))
    assert download.status_code == 200
    assert download.content == PHOTO
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"].startswith("sandbox")
    head = await client.head(await local.presign_get(key))
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(PHOTO))


async def test_a_streamed_upload_without_length_is_accepted(
    local: LocalObjectStore, client: httpx.AsyncClient
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    response = await client.put(upload.url, content=body_in_chunks(PHOTO), headers=upload.headers)
    assert response.status_code == 201
    info = await local.stat(key)
    assert info is not None
    assert (info.size, info.content_type) == (len(PHOTO), "image/jpeg")


async def test_expired_urls_are_refused(
    local: LocalObjectStore, client: httpx.AsyncClient, clock: Clock
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    clock.now += 301

    response = await client.put(upload.url, content=PHOTO, headers=upload.headers)

    assert response.status_code == 403
    assert response.json() == {"error": "ACCESS_DENIED", "message": "URL has expired"}
    assert await local.stat(key) is None

    clock.now -= 301
    await client.put(
        (await local.presign_put(key, "image/jpeg", MAX)).url,
        content=PHOTO,
        headers=upload.headers,
    )
    download = await local.presign_get(key, timedelta(minutes=1))
    clock.now += 61
    assert (await client.get(download)).status_code == 403


@pytest.mark.parametrize(
    "tamper",
    [
        {"signature": "0" * 64},
        {"max_bytes": str(MAX * 10)},
        {"content_type": "text/html"},
        {"expires": str(int(time.time()) + 86400)},
    ],
)
async def test_tampered_upload_urls_are_refused(
    local: LocalObjectStore, client: httpx.AsyncClient, tamper: dict[str, str]
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    headers = {"Content-Type": tamper.get("content_type", "image/jpeg")}

    response = await client.put(with_query(upload.url, **tamper), content=PHOTO, headers=headers)

    assert response.status_code == 403
    assert response.json()["message"] == "signature does not match"
    assert await local.stat(key) is None


async def test_a_url_for_one_key_does_not_open_another(
    local: LocalObjectStore, client: httpx.AsyncClient
) -> None:
    key, other = new_key(), new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    response = await client.put(
        upload.url.replace(key, other), content=PHOTO, headers=upload.headers
    )
    assert response.status_code == 403
    assert await local.stat(other) is None

    await client.put(upload.url, content=PHOTO, headers=upload.headers)
    download = await local.presign_get(key)
    assert (await client.get(download.replace(key, other))).status_code == 403
    assert (await client.get(with_query(download, signature="f" * 64))).status_code == 403


@pytest.mark.parametrize("query", ["", "?expires=abc&signature=x&max_bytes=1&content_type=a"])
async def test_missing_or_malformed_parameters_are_refused(
    client: httpx.AsyncClient, query: str
) -> None:
    key = new_key()
    response = await client.put(f"/objects/{key}{query}", content=b"x")
    assert response.status_code == 403
    assert (await client.get(f"/objects/{key}{query}")).status_code == 403


@pytest.mark.parametrize("path", ["..%2F..%2Fetc/passwd", "%2e%2e/x", ".meta/a.json"])
async def test_a_path_escaping_the_store_is_refused(
    local: LocalObjectStore, client: httpx.AsyncClient, path: str
) -> None:
    # Even with a valid signature over the decoded path: the key itself is refused.
    decoded = path.replace("%2F", "/").replace("%2e", ".")
    expires = int(time.time()) + 60
    signature = sign_object_url(SECRET, "GET", decoded, expires)
    response = await client.get(f"/objects/{path}?expires={expires}&signature={signature}")
    assert response.status_code == 403
    put = await client.put(
        f"/objects/{path}?expires={expires}&signature={signature}&max_bytes=9&content_type=a",
        content=b"x",
    )
    assert put.status_code == 403
    assert not (local.root.parent / "x").exists()


async def test_the_signed_content_type_is_required(
    local: LocalObjectStore, client: httpx.AsyncClient
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)

    wrong = await client.put(upload.url, content=PHOTO, headers={"Content-Type": "text/html"})
    missing = await client.put(upload.url, content=PHOTO)

    assert wrong.status_code == 415
    assert wrong.json()["error"] == "CONTENT_TYPE_MISMATCH"
    assert missing.status_code == 415
    assert await local.stat(key) is None


async def test_oversize_uploads_are_refused_and_leave_nothing(
    local: LocalObjectStore, client: httpx.AsyncClient
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", 100 * 1024)

    declared = await client.put(upload.url, content=PHOTO, headers=upload.headers)
    streamed = await client.put(
        upload.url, content=body_in_chunks(PHOTO, 10_000), headers=upload.headers
    )

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "TOO_LARGE"
    assert await local.stat(key) is None
    assert not local.path_for(key).exists()
    assert leftovers(local.root) == []


async def test_exactly_the_maximum_is_accepted(
    local: LocalObjectStore, client: httpx.AsyncClient
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", len(PHOTO))
    response = await client.put(upload.url, content=body_in_chunks(PHOTO), headers=upload.headers)
    assert response.status_code == 201


async def test_an_existing_object_is_never_overwritten(
    local: LocalObjectStore, client: httpx.AsyncClient
) -> None:
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    first = await client.put(upload.url, content=PHOTO, headers=upload.headers)
    assert first.status_code == 201

    again = await client.put(upload.url, content=b"other bytes", headers=upload.headers)

    assert again.status_code == 409
    assert again.json()["error"] == "ALREADY_EXISTS"
    assert b"".join([chunk async for chunk in local.iter_chunks(key)]) == PHOTO
    assert leftovers(local.root) == []


async def test_racing_uploads_of_one_key_publish_exactly_one(local: LocalObjectStore) -> None:
    key = new_key()
    bodies = [os.urandom(300 * 1024) for _ in range(5)]

    results = await asyncio.gather(
        *(local.receive(key, "image/jpeg", MAX, body_in_chunks(body, 8192)) for body in bodies),
        return_exceptions=True,
    )

    published = [result for result in results if isinstance(result, ObjectInfo)]
    assert len(published) == 1
    assert all(
        isinstance(result, ObjectExistsError) for result in results if result not in published
    )
    stored = b"".join([chunk async for chunk in local.iter_chunks(key)])
    assert stored in bodies
    assert leftovers(local.root) == []


async def test_receive_counts_the_limit_itself(local: LocalObjectStore) -> None:
    key = new_key()
    with pytest.raises(ObjectTooLargeError):
        await local.receive(key, "image/jpeg", 1000, body_in_chunks(b"x" * 1001, 100))
    assert await local.stat(key) is None
    assert leftovers(local.root) == []


async def test_absent_objects(local: LocalObjectStore, client: httpx.AsyncClient) -> None:
    key = new_key()
    assert await local.stat(key) is None
    with pytest.raises(ObjectNotFoundError):
        async for _ in local.iter_chunks(key):
            pass
    assert (await client.get(await local.presign_get(key))).status_code == 404


async def test_routes_answer_404_when_the_app_uses_s3(local: LocalObjectStore) -> None:
    other = S3ObjectStore(Minio("127.0.0.1:9", secure=False), "unused")
    app = Starlette(routes=object_routes(lambda request: other))
    transport = httpx.ASGITransport(app=app)
    upload = await local.presign_put(new_key(), "image/jpeg", MAX)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.put(upload.url, content=PHOTO, headers=upload.headers)
    assert response.status_code == 404


async def test_routes_can_find_the_store_on_the_app(local: LocalObjectStore) -> None:
    app = Starlette(routes=object_routes(lambda request: request.app.state.storage))
    app.state.storage = local
    transport = httpx.ASGITransport(app=app)
    key = new_key()
    upload = await local.presign_put(key, "image/jpeg", MAX)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.put(upload.url, content=PHOTO, headers=upload.headers)
    assert response.status_code == 201


async def test_ensure_ready_sweeps_only_stale_temporary_files(local: LocalObjectStore) -> None:
    stale = local.root / ".tmp" / "crashed.part"
    fresh = local.root / ".tmp" / "in-flight.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))

    await local.ensure_ready()

    assert not stale.exists()
    assert fresh.exists()


def test_create_store_defaults_to_the_local_directory(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, jwt_secret=JWT_SECRET, public_base_url="https://x.test/")
    store = create_store(settings)
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "objects"
    assert store.secret == derive_object_url_key(JWT_SECRET)
    assert store.base_url == "https://x.test/"


async def test_without_public_base_url_urls_are_on_the_requests_address(tmp_path: Path) -> None:
    store = LocalObjectStore(root=tmp_path / "objects", base_url="", secret=SECRET)
    key = evidence_key("photos", USER, CONTRIBUTION, "jpg")
    with pytest.raises(ObjectStoreError, match="PUBLIC_BASE_URL"):
        await store.presign_put(key, "image/jpeg", MAX)
    token = request_base_url.set("http://127.0.0.1:8123")
    try:
        upload = await store.presign_put(key, "image/jpeg", MAX)
        download = await store.presign_get(key)
    finally:
        request_base_url.reset(token)
    assert upload.url.startswith(f"http://127.0.0.1:8123/objects/{key}?")
    assert download.startswith(f"http://127.0.0.1:8123/objects/{key}?")
