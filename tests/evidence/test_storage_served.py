"""The object stores served for real: the local store behind uvicorn (a 10 MiB photo over HTTP) and
the S3 store against moto's server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette

from gotong_gql.settings import Settings
from gotong_gql.storage import create_store
from gotong_gql.storage.local import LocalObjectStore
from gotong_gql.storage.local_routes import object_routes
from gotong_gql.storage.protocol import (
    InvalidKeyError,
    ObjectNotFoundError,
    ObjectStore,
)
from gotong_gql.storage.s3 import S3ObjectStore
from tests.evidence.storage_support import (
    MAX,
    PHOTO,
    SECRET,
    new_key,
)


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served_store(tmp_path: Path) -> Iterator[LocalObjectStore]:
    """The routes under a real uvicorn on a free port, as the phone would reach them."""
    port = _free_port()
    store = LocalObjectStore(
        root=tmp_path / "objects", base_url=f"http://127.0.0.1:{port}", secret=SECRET
    )
    config = uvicorn.Config(
        Starlette(routes=object_routes(store)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield store
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
async def test_a_10_mib_photo_over_real_http(served_store: LocalObjectStore) -> None:
    await served_store.ensure_ready()
    photo = os.urandom(MAX)
    key = new_key()
    upload = await served_store.presign_put(key, "image/jpeg", MAX)
    async with httpx.AsyncClient() as client:
        created = await client.put(upload.url, content=photo, headers=upload.headers)
        too_large = await client.put(
            (await served_store.presign_put(new_key(), "image/jpeg", MAX - 1)).url,
            content=photo,
            headers=upload.headers,
        )
        download = await client.get(await served_store.presign_get(key))
    assert created.status_code == 201
    assert too_large.status_code == 413
    assert download.content == photo


# --- S3 (moto's server mode) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
async def s3(moto_endpoint: str, tmp_path: Path) -> AsyncIterator[S3ObjectStore]:
    settings = Settings(
        var_dir=tmp_path,
        s3_endpoint_url=moto_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket=f"evidence-{uuid.uuid4().hex[:12]}",
        s3_region="us-east-1",
    )
    store = create_store(settings)
    assert isinstance(store, S3ObjectStore)
    yield store
    await store.close()


async def test_s3_bucket_is_created_when_missing(s3: S3ObjectStore) -> None:
    assert isinstance(s3, ObjectStore)
    assert not await asyncio.to_thread(s3._client.bucket_exists, s3._bucket)
    await s3.ensure_ready()
    assert await asyncio.to_thread(s3._client.bucket_exists, s3._bucket)
    await s3.ensure_ready()


async def test_s3_presigned_upload_stat_stream_and_download(s3: S3ObjectStore) -> None:
    await s3.ensure_ready()
    key = new_key()
    upload = await s3.presign_put(key, "image/jpeg", MAX)
    assert upload.method == "PUT"
    assert upload.headers == {"Content-Type": "image/jpeg"}
    remaining = upload.expires_at - datetime.now(UTC)
    assert timedelta(minutes=4) < remaining <= timedelta(minutes=5)
    assert "X-Amz-Signature=" in upload.url

    async with httpx.AsyncClient() as client:
        response = await client.put(upload.url, content=PHOTO, headers=upload.headers)
        assert response.status_code == 200, response.text

        info = await s3.stat(key)
        assert info is not None
        assert (info.key, info.size, info.content_type) == (key, len(PHOTO), "image/jpeg")
        assert info.etag

        chunks = [chunk async for chunk in s3.iter_chunks(key, chunk_size=16 * 1024)]
        assert len(chunks) > 1
        assert b"".join(chunks) == PHOTO

        download = await client.get(await s3.presign_get(key, timedelta(minutes=1)))
        assert download.status_code == 200
        assert download.content == PHOTO


async def test_s3_readers_closed_early_leave_the_store_usable(s3: S3ObjectStore) -> None:
    await s3.ensure_ready()
    key = new_key()
    upload = await s3.presign_put(key, "image/jpeg", MAX)
    async with httpx.AsyncClient() as client:
        await client.put(upload.url, content=PHOTO, headers=upload.headers)
    for _ in range(20):
        async with contextlib.aclosing(s3.iter_chunks(key, chunk_size=1024)) as chunks:
            async for chunk in chunks:
                assert chunk == PHOTO[:1024]
                break
    assert (await s3.stat(key)) is not None


async def test_s3_absent_objects(s3: S3ObjectStore) -> None:
    await s3.ensure_ready()
    key = new_key()
    assert await s3.stat(key) is None
    with pytest.raises(ObjectNotFoundError):
        async for _ in s3.iter_chunks(key):
            pass


async def test_s3_keys_are_checked(s3: S3ObjectStore) -> None:
    with pytest.raises(InvalidKeyError):
        await s3.presign_put("../x", "image/jpeg", MAX)
    with pytest.raises(InvalidKeyError):
        await s3.stat("a//b")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"s3_endpoint_url": "ftp://host"}, "http"),
        ({"s3_endpoint_url": "http://host:9000/bucket"}, "path"),
        ({"s3_endpoint_url": "http://host:9000", "s3_secret_key": None}, "S3_SECRET_KEY"),
    ],
)
def test_s3_settings_are_checked(tmp_path: Path, overrides: dict, message: str) -> None:
    values = {"var_dir": tmp_path, "s3_access_key": "a", "s3_secret_key": "b", **overrides}
    with pytest.raises(ValueError, match=message):
        create_store(Settings(**values))
