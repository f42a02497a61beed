"""Object storage for evidence files: a local directory (embedded default) or S3 via the minio SDK.

Both stores have the same small interface, `ObjectStore`; `create_store(settings)` picks one
(S3 when S3_ENDPOINT_URL is set). The contract, and where the two stores differ:

- Keys are chosen by the server (`evidence_key`, SPEC 3) and checked by `validate_key`: relative,
  `/`-separated segments of `[A-Za-z0-9._-]` that start with a letter or digit, at most 512
  characters. Neither `..` nor a dot-file can be named, which keeps local paths inside the store
  and leaves `.tmp/` and `.meta/` free for the local store's own use.
- Clients upload straight to storage: `presign_put` returns the URL, method, headers to send and
  expiry. Nobody deletes objects, and nothing here has a delete method.
- Local store (storage_local.py): the app serves the URLs itself (`object_routes`), on
  PUBLIC_BASE_URL or, when that is unset, on the address the request being served was sent to
  (`request_base_url`, set by forwarded.py). A URL carries its expiry, and
  for uploads the declared content type and the maximum size, all under an HMAC-SHA256 signature
  keyed by a key derived from the JWT signing key (`derive_object_url_key`), so a signature made
  for URLs can never stand for a token. An upload is streamed to a temporary file, counted against
  the signed maximum (413, partial file removed), then published with `os.link`, which fails
  rather than replace an existing object (409): no overwrite even between two racing uploads of
  one key. Published files are made read-only; the content type lives in a JSON sidecar under
  `.meta/`.
- S3 store (storage_s3.py): a SigV4 presigned PUT signs only the host, so S3 cannot hold the
  client to the declared content type or size: whoever confirms an upload must `stat` it and
  check both, and the hashing job decides the real type from the bytes anyway. S3 has no "never
  overwrite" for a presigned PUT either; what makes overwrites impossible in practice is that
  every key holds a fresh UUID chosen by the server, and the URL dies after a few minutes. A
  re-upload through a still-valid URL changes the ETag, so a consumer can compare
  `ObjectInfo.etag` before and after.
- minio is blocking, so every call runs in a worker thread (`asyncio.to_thread`). Reads are
  streamed in chunks; the connection is closed when the iterator finishes or is closed, so
  consumers that may stop early should use `contextlib.aclosing`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from gotong_gql.settings import Settings

UPLOAD_URL_TTL = timedelta(minutes=5)
DOWNLOAD_URL_TTL = timedelta(minutes=5)
DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_KEY_LENGTH = 512

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_KEY_PART = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")

# The address (scheme, host, port, root path) the request being served was sent to, behind
# trusted proxies; set per request by forwarded.py. The local store builds its URLs on it when
# PUBLIC_BASE_URL is unset: a store is shared by every request, the address is the request's.
request_base_url: ContextVar[str | None] = ContextVar("request_base_url", default=None)


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


def create_store(settings: Settings) -> ObjectStore:
    # The stores import this module's contract, so they are imported when one is made.
    if settings.s3_endpoint_url:
        from gotong_gql.storage_s3 import S3ObjectStore

        return S3ObjectStore.from_settings(settings)
    from gotong_gql.storage_local import LocalObjectStore

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
