"""The local object store: files under VAR_DIR/objects, uploaded and downloaded through signed,
expiring URLs that the app serves itself (storage/local_routes.py). The contract, and how this
store keeps it, is in the package's docstring."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import anyio

from gotong_gql.settings import Settings
from gotong_gql.storage.keys import validate_key
from gotong_gql.storage.protocol import (
    DEFAULT_CHUNK_SIZE,
    DOWNLOAD_URL_TTL,
    UPLOAD_URL_TTL,
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectTooLargeError,
    PresignedUpload,
    request_base_url,
)
from gotong_gql.storage.signing import derive_object_url_key, sign_object_url

_STALE_TEMP_SECONDS = 3600


@dataclass
class LocalObjectStore:
    """Objects under `root`; uploads and downloads through URLs the app serves (`object_routes`),
    on `base_url` (PUBLIC_BASE_URL), or when that is empty on the address of the request being
    served (`request_base_url`), so that the URLs reach the port the server listens on."""

    root: Path
    base_url: str
    secret: bytes = field(repr=False)
    clock: Callable[[], float] = time.time

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalObjectStore:
        return cls(
            root=settings.var_dir / "objects",
            base_url=settings.public_base_url,
            secret=derive_object_url_key(settings.jwt_signing_key),
        )

    @property
    def _temp_dir(self) -> Path:
        return self.root / ".tmp"

    @property
    def _meta_dir(self) -> Path:
        return self.root / ".meta"

    def path_for(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta_dir / f"{validate_key(key)}.json"

    def _url(self, key: str, params: dict[str, str | int]) -> str:
        base = self.base_url or request_base_url.get()
        if base is None:
            raise ObjectStoreError(
                "no address for object URLs outside a request: set PUBLIC_BASE_URL"
            )
        return f"{base.rstrip('/')}/objects/{quote(key)}?{urlencode(params)}"

    def _expiry(self, expires: timedelta) -> int:
        return math.ceil(self.clock() + expires.total_seconds())

    async def ensure_ready(self) -> None:
        await asyncio.to_thread(self._prepare_directories)

    def _prepare_directories(self) -> None:
        for directory in (self.root, self._temp_dir, self._meta_dir):
            directory.mkdir(parents=True, exist_ok=True)
        # Leftovers of a crash; an old cut-off spares uploads in flight in another process.
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for leftover in self._temp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    async def presign_put(
        self, key: str, content_type: str, max_bytes: int, expires: timedelta = UPLOAD_URL_TTL
    ) -> PresignedUpload:
        validate_key(key)
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        expires_at = self._expiry(expires)
        signature = sign_object_url(
            self.secret, "PUT", key, expires_at, content_type=content_type, max_bytes=max_bytes
        )
        url = self._url(
            key,
            {
                "expires": expires_at,
                "content_type": content_type,
                "max_bytes": max_bytes,
                "signature": signature,
            },
        )
        return PresignedUpload(
            url=url,
            method="PUT",
            headers={"Content-Type": content_type},
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    async def presign_get(self, key: str, expires: timedelta = DOWNLOAD_URL_TTL) -> str:
        validate_key(key)
        expires_at = self._expiry(expires)
        signature = sign_object_url(self.secret, "GET", key, expires_at)
        return self._url(key, {"expires": expires_at, "signature": signature})

    async def stat(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self._stat, key)

    def _stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self.path_for(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            content_type = json.loads(self._meta_path(key).read_text())["content_type"]
        except (FileNotFoundError, ValueError, KeyError):
            content_type = None
        # Like a web server's ETag: changes whenever the file is rewritten behind our back.
        etag = f"{st.st_size:x}-{st.st_mtime_ns:x}"
        return ObjectInfo(key=key, size=st.st_size, content_type=content_type, etag=etag)

    async def iter_chunks(
        self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        try:
            file = await anyio.open_file(self.path_for(key), "rb")
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFoundError(key) from None
        async with file:
            while chunk := await file.read(chunk_size):
                yield chunk

    async def receive(
        self, key: str, content_type: str, max_bytes: int, chunks: AsyncIterable[bytes]
    ) -> ObjectInfo:
        """Streams `chunks` to a temporary file, then links it into place as `key` (never over one).

        Raises ObjectTooLargeError past `max_bytes` and ObjectExistsError if `key` is taken; in
        every failure the temporary file is removed.
        """
        validate_key(key)
        await asyncio.to_thread(self._temp_dir.mkdir, parents=True, exist_ok=True)
        temp = self._temp_dir / f"{uuid.uuid4().hex}.part"
        try:
            size = 0
            async with await anyio.open_file(temp, "xb") as file:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise ObjectTooLargeError(f"more than {max_bytes} bytes")
                    await file.write(chunk)
                await file.flush()
                await asyncio.to_thread(os.fsync, file.wrapped.fileno())
            await asyncio.to_thread(self._link_into_place, temp, key, content_type)
        finally:
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        info = await self.stat(key)
        assert info is not None
        return info

    def _link_into_place(self, temp: Path, key: str, content_type: str) -> None:
        final = self.path_for(key)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            temp.chmod(0o444)
            os.link(temp, final)
        except (FileExistsError, NotADirectoryError):
            raise ObjectExistsError(f"object {key} already exists") from None
        meta = self._meta_path(key)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta_temp = self._temp_dir / f"{uuid.uuid4().hex}.meta"
        meta_temp.write_text(json.dumps({"content_type": content_type}))
        os.replace(meta_temp, meta)

    async def close(self) -> None:
        """Nothing to release: every file is closed when its request or iterator ends."""
