"""The contract of an object store (the package's docstring says what each store keeps of it):
the interface, its errors and values, and the address object URLs are built on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

UPLOAD_URL_TTL = timedelta(minutes=5)
DOWNLOAD_URL_TTL = timedelta(minutes=5)
DEFAULT_CHUNK_SIZE = 256 * 1024

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
