"""The local object store: files under VAR_DIR/objects, uploaded and downloaded through signed,
expiring URLs that the app serves itself (`object_routes`). The contract, and how this store
keeps it, is in storage.py."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
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
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gotong_gql.settings import Settings
from gotong_gql.storage import (
    DEFAULT_CHUNK_SIZE,
    DOWNLOAD_URL_TTL,
    UPLOAD_URL_TTL,
    ObjectExistsError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectStore,
    ObjectStoreError,
    ObjectTooLargeError,
    ObjectUrlError,
    PresignedUpload,
    request_base_url,
    validate_key,
)

_URL_KEY_CONTEXT = b"gotong-gql/object-urls/v1"
_SIGNATURE_VERSION = "gotong-object-url-v1"
_STALE_TEMP_SECONDS = 3600


# --- Signed URLs of the local store ----------------------------------------------------------


def derive_object_url_key(master_key: str) -> bytes:
    """A key used only for object URLs, derived from the JWT signing key (domain separation)."""
    return hmac.new(master_key.encode(), _URL_KEY_CONTEXT, hashlib.sha256).digest()


def sign_object_url(
    secret: bytes,
    method: str,
    key: str,
    expires_at: int,
    *,
    content_type: str | None = None,
    max_bytes: int | None = None,
) -> str:
    """HMAC-SHA256 (hex) over method, key, expiry and, for uploads, content type and max size.

    The fields are serialised as a JSON array, an unambiguous encoding whatever they contain.
    """
    message = json.dumps(
        [_SIGNATURE_VERSION, method.upper(), key, expires_at, content_type, max_bytes],
        separators=(",", ":"),
    ).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_object_url(
    secret: bytes,
    signature: str,
    method: str,
    key: str,
    expires_at: int,
    *,
    content_type: str | None = None,
    max_bytes: int | None = None,
    now: float | None = None,
) -> None:
    """Raises ObjectUrlError unless the signature matches and the URL has not expired."""
    expected = sign_object_url(
        secret, method, key, expires_at, content_type=content_type, max_bytes=max_bytes
    )
    if not hmac.compare_digest(expected, signature):
        raise ObjectUrlError("signature does not match")
    if (time.time() if now is None else now) > expires_at:
        raise ObjectUrlError("URL has expired")


# --- Local directory store -------------------------------------------------------------------


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
        """Streams `chunks` to a temporary file and publishes it under `key`, never replacing.

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
            await asyncio.to_thread(self._publish, temp, key, content_type)
        finally:
            await asyncio.to_thread(temp.unlink, missing_ok=True)
        info = await self.stat(key)
        assert info is not None
        return info

    def _publish(self, temp: Path, key: str, content_type: str) -> None:
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


def _refusal(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status_code)


def object_routes(
    store: LocalObjectStore | Callable[[Request], ObjectStore],
) -> list[Route]:
    """`PUT` and `GET /objects/{key:path}` of the local store, checked against the signed URL.

    `store` is the store, or a function of the request that returns the app's store (so the routes
    can be mounted before the lifespan creates it); when that is not a LocalObjectStore (S3 is
    configured) the routes answer 404.
    """

    def resolve(request: Request) -> LocalObjectStore | None:
        found = store if isinstance(store, LocalObjectStore) else store(request)
        return found if isinstance(found, LocalObjectStore) else None

    async def put_object(request: Request) -> Response:
        local = resolve(request)
        if local is None:
            return _refusal(404, "NOT_FOUND", "no such route")
        query = request.query_params
        try:
            key = validate_key(request.path_params["key"])
            expires_at = int(query["expires"])
            max_bytes = int(query["max_bytes"])
            content_type = query["content_type"]
            verify_object_url(
                local.secret,
                query["signature"],
                "PUT",
                key,
                expires_at,
                content_type=content_type,
                max_bytes=max_bytes,
                now=local.clock(),
            )
        except (KeyError, ValueError):
            return _refusal(403, "ACCESS_DENIED", "missing or malformed signed parameters")
        except ObjectUrlError as exc:
            return _refusal(403, "ACCESS_DENIED", str(exc))
        sent_type = request.headers.get("content-type", "").strip()
        if sent_type != content_type:
            return _refusal(415, "CONTENT_TYPE_MISMATCH", f"Content-Type must be {content_type}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return _refusal(413, "TOO_LARGE", f"at most {max_bytes} bytes")
        if await local.stat(key) is not None:
            return _refusal(409, "ALREADY_EXISTS", "the object exists and is never overwritten")
        try:
            info = await local.receive(key, content_type, max_bytes, request.stream())
        except ObjectTooLargeError:
            return _refusal(413, "TOO_LARGE", f"at most {max_bytes} bytes")
        except ObjectExistsError:
            return _refusal(409, "ALREADY_EXISTS", "the object exists and is never overwritten")
        except ClientDisconnect:
            return Response(status_code=400)
        return JSONResponse(
            {"key": info.key, "size": info.size},
            status_code=201,
            headers={"ETag": f'"{info.etag}"'},
        )

    async def get_object(request: Request) -> Response:
        local = resolve(request)
        if local is None:
            return _refusal(404, "NOT_FOUND", "no such route")
        query = request.query_params
        try:
            key = validate_key(request.path_params["key"])
            expires_at = int(query["expires"])
            verify_object_url(
                local.secret, query["signature"], "GET", key, expires_at, now=local.clock()
            )
        except (KeyError, ValueError):
            return _refusal(403, "ACCESS_DENIED", "missing or malformed signed parameters")
        except ObjectUrlError as exc:
            return _refusal(403, "ACCESS_DENIED", str(exc))
        info = await local.stat(key)
        if info is None:
            return _refusal(404, "NOT_FOUND", "no such object")
        remaining = max(0, expires_at - int(local.clock()))
        return FileResponse(
            local.path_for(key),
            media_type=info.content_type or "application/octet-stream",
            headers={
                "Cache-Control": f"private, max-age={remaining}",
                "X-Content-Type-Options": "nosniff",
                # User-supplied bytes served from the app's origin must never run as a page.
                "Content-Security-Policy": "sandbox; default-src 'none'",
            },
        )

    return [
        Route("/objects/{key:path}", put_object, methods=["PUT"]),
        Route("/objects/{key:path}", get_object, methods=["GET"]),
    ]
