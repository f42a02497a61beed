"""Object storage for evidence files: a local directory (embedded default) or S3 via the minio SDK.

Both stores have the same small interface, `ObjectStore`; `create_store(settings)` picks one
(S3 when S3_ENDPOINT_URL is set). The contract, and where the two stores differ:

- Keys are chosen by the server (`evidence_key`, SPEC 3) and checked by `validate_key`: relative,
  `/`-separated segments of `[A-Za-z0-9._-]` that start with a letter or digit, at most 512
  characters. Neither `..` nor a dot-file can be named, which keeps local paths inside the store
  and leaves `.tmp/` and `.meta/` free for the local store's own use.
- Clients upload straight to storage: `presign_put` returns the URL, method, headers to send and
  expiry. Nobody deletes objects, and nothing here has a delete method.
- Local store: the app serves the URLs itself (`object_routes`). A URL carries its expiry, and
  for uploads the declared content type and the maximum size, all under an HMAC-SHA256 signature
  keyed by a key derived from the JWT signing key (`derive_object_url_key`), so a signature made
  for URLs can never stand for a token. An upload is streamed to a temporary file, counted against
  the signed maximum (413, partial file removed), then published with `os.link`, which fails
  rather than replace an existing object (409): no overwrite even between two racing uploads of
  one key. Published files are made read-only; the content type lives in a JSON sidecar under
  `.meta/`.
- S3 store: a SigV4 presigned PUT signs only the host, so S3 cannot hold the client to the
  declared content type or size: whoever confirms an upload must `stat` it and check both, and the
  hashing job decides the real type from the bytes anyway. S3 has no "never overwrite" for a
  presigned PUT either; what makes overwrites impossible in practice is that every key holds a
  fresh UUID chosen by the server, and the URL dies after a few minutes. A re-upload through a
  still-valid URL changes the ETag, so a consumer can compare `ObjectInfo.etag` before and after.
- minio is blocking, so every call runs in a worker thread (`asyncio.to_thread`). Reads are
  streamed in chunks; the connection is closed when the iterator finishes or is closed, so
  consumers that may stop early should use `contextlib.aclosing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote, urlencode, urlsplit

import anyio
import certifi
import urllib3
from minio import Minio
from minio.error import S3Error
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from gotong_gql.settings import Settings

UPLOAD_URL_TTL = timedelta(minutes=5)
DOWNLOAD_URL_TTL = timedelta(minutes=5)
DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_KEY_LENGTH = 512

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_KEY_PART = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")
_URL_KEY_CONTEXT = b"gotong-gql/object-urls/v1"
_SIGNATURE_VERSION = "gotong-object-url-v1"
_STALE_TEMP_SECONDS = 3600
_S3_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion", "ResourceNotFound"})


class ObjectStoreError(Exception):
    """Base of the storage errors a caller may want to turn into a domain error."""


class InvalidKeyError(ObjectStoreError, ValueError):
    pass


class ObjectNotFoundError(ObjectStoreError, LookupError):
    pass


class ObjectExistsError(ObjectStoreError):
    pass


class ObjectTooLargeError(ObjectStoreError):
    pass


class ObjectUrlError(ObjectStoreError):
    """A local object URL whose signature does not match, or that has expired."""


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None
    etag: str | None = None


@runtime_checkable
class ObjectStore(Protocol):
    async def ensure_ready(self) -> None: ...

    async def presign_put(
        self, key: str, content_type: str, max_bytes: int, expires: timedelta = UPLOAD_URL_TTL
    ) -> PresignedUpload: ...

    async def presign_get(self, key: str, expires: timedelta = DOWNLOAD_URL_TTL) -> str: ...

    async def stat(self, key: str) -> ObjectInfo | None: ...

    def iter_chunks(
        self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


def create_store(settings: Settings) -> LocalObjectStore | S3ObjectStore:
    if settings.s3_endpoint_url:
        return S3ObjectStore.from_settings(settings)
    return LocalObjectStore.from_settings(settings)


def validate_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise InvalidKeyError(f"not a valid object key: {key[:80]!r}")
    return key


def evidence_key(
    category: str,
    user_id: uuid.UUID,
    contribution_id: uuid.UUID,
    ext: str,
    now: datetime | None = None,
) -> str:
    """`{category}/{yyyy}/{mm}/{dd}/{user_id}_{contribution_id}_{uuid}.{ext}` (SPEC 3).

    The date is `now` (default: the current time) in UTC; `ext` is lower-cased, without the dot.
    """
    if not _KEY_PART.match(category):
        raise InvalidKeyError(f"not a valid key category: {category!r}")
    ext = ext.lower().lstrip(".")
    if not _EXTENSION.match(ext):
        raise InvalidKeyError(f"not a valid file extension: {ext!r}")
    day = (now or datetime.now(UTC)).astimezone(UTC)
    return validate_key(
        f"{category}/{day:%Y/%m/%d}/{user_id}_{contribution_id}_{uuid.uuid4()}.{ext}"
    )


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
    """Objects under `root`; uploads and downloads through URLs the app serves (`object_routes`)."""

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
        return f"{self.base_url.rstrip('/')}/objects/{quote(key)}?{urlencode(params)}"

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


# --- S3 through the minio SDK ----------------------------------------------------------------


class S3ObjectStore:
    """An S3-compatible bucket (AWS, MinIO, moto) through the blocking minio client."""

    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        region: str | None = None,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._region = region
        self._http = http

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ObjectStore:
        endpoint = urlsplit(settings.s3_endpoint_url or "")
        if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
            raise ValueError(f"S3_ENDPOINT_URL must be http(s)://host[:port], got {endpoint!r}")
        if endpoint.path not in ("", "/"):
            raise ValueError("S3_ENDPOINT_URL must not have a path; the bucket is S3_BUCKET")
        if settings.s3_access_key is None or settings.s3_secret_key is None:
            raise ValueError("S3_ACCESS_KEY and S3_SECRET_KEY are required with S3_ENDPOINT_URL")
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=10, read=60),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        client = Minio(
            endpoint.netloc,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=endpoint.scheme == "https",
            region=settings.s3_region,
            http_client=http,
        )
        return cls(client, settings.s3_bucket, region=settings.s3_region, http=http)

    async def ensure_ready(self) -> None:
        await asyncio.to_thread(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        if self._client.bucket_exists(self._bucket):
            return
        try:
            self._client.make_bucket(self._bucket, location=self._region)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    async def presign_put(
        self, key: str, content_type: str, max_bytes: int, expires: timedelta = UPLOAD_URL_TTL
    ) -> PresignedUpload:
        """A presigned PUT; `max_bytes` and `content_type` are not enforced by S3 (see above)."""
        validate_key(key)
        expires_at = datetime.now(UTC) + expires
        url = await asyncio.to_thread(self._client.presigned_put_object, self._bucket, key, expires)
        return PresignedUpload(
            url=url,
            method="PUT",
            headers={"Content-Type": content_type},
            expires_at=expires_at.replace(microsecond=0),
        )

    async def presign_get(self, key: str, expires: timedelta = DOWNLOAD_URL_TTL) -> str:
        validate_key(key)
        return await asyncio.to_thread(
            self._client.presigned_get_object, self._bucket, key, expires
        )

    async def stat(self, key: str) -> ObjectInfo | None:
        validate_key(key)
        try:
            found = await asyncio.to_thread(self._client.stat_object, self._bucket, key)
        except S3Error as exc:
            if exc.code in _S3_MISSING:
                return None
            raise
        return ObjectInfo(
            key=key, size=found.size or 0, content_type=found.content_type, etag=found.etag
        )

    async def iter_chunks(
        self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        validate_key(key)
        try:
            response = await asyncio.to_thread(self._client.get_object, self._bucket, key)
        except S3Error as exc:
            if exc.code in _S3_MISSING:
                raise ObjectNotFoundError(key) from None
            raise
        try:
            while chunk := await asyncio.to_thread(response.read, chunk_size):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def close(self) -> None:
        if self._http is not None:
            self._http.clear()
