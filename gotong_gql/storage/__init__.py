"""Object storage for evidence files: a local directory (embedded default) or S3 via the minio SDK.

Both stores have the same small interface, `ObjectStore`; `create_store(settings)` picks one
(S3 when S3_ENDPOINT_URL is set). The contract, and where the two stores differ:

- Keys are chosen by the server (`evidence_key`, SPEC 3) and checked by `validate_key`: relative,
  `/`-separated segments of `[A-Za-z0-9._-]` that start with a letter or digit, at most 512
  characters. Neither `..` nor a dot-file can be named, which keeps local paths inside the store
  and leaves `.tmp/` and `.meta/` free for the local store's own use.
- Clients upload straight to storage: `presign_put` returns the URL, method, headers to send and
  expiry. Nobody deletes objects, and nothing here has a delete method.
- Local store (local.py): the app serves the URLs itself (local_routes.py), on
  PUBLIC_BASE_URL or, when that is unset, on the address the request being served was sent to
  (`request_base_url`, set by forwarded.py). A URL carries its expiry, and
  for uploads the declared content type and the maximum size, all under an HMAC-SHA256 signature
  keyed by a key derived from the JWT signing key (`derive_object_url_key`), so a signature made
  for URLs can never stand for a token. An upload is streamed to a temporary file, counted against
  the signed maximum (413, partial file removed), then linked into place with `os.link`, which fails
  rather than replace an existing object (409): no overwrite even between two racing uploads of
  one key. Published files are made read-only; the content type lives in a JSON sidecar under
  `.meta/`.
- S3 store (s3.py): a SigV4 presigned PUT signs only the host, so S3 cannot hold the
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

from gotong_gql.settings import Settings
from gotong_gql.storage.protocol import ObjectStore


def create_store(settings: Settings) -> ObjectStore:
    # Imported when one is made: minio is loaded only for S3.
    if settings.s3_endpoint_url:
        from gotong_gql.storage.s3 import S3ObjectStore

        return S3ObjectStore.from_settings(settings)
    from gotong_gql.storage.local import LocalObjectStore

    return LocalObjectStore.from_settings(settings)
