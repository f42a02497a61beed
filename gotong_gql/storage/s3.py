"""The S3 object store: any S3-compatible bucket (AWS, MinIO, moto) through the minio SDK. The
contract, and where S3 cannot keep it alone, is in the package's docstring."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.error import S3Error

from gotong_gql.settings import Settings
from gotong_gql.storage.keys import validate_key
from gotong_gql.storage.protocol import (
    DEFAULT_CHUNK_SIZE,
    DOWNLOAD_URL_TTL,
    UPLOAD_URL_TTL,
    ObjectInfo,
    ObjectNotFoundError,
    PresignedUpload,
)

_S3_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion", "ResourceNotFound"})


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
