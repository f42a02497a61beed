"""Signed, expiring URLs of the local store: HMAC-SHA256 under a key derived from the JWT
signing key, over the method, the key, the expiry and, for uploads, the content type and the
maximum size."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from gotong_gql.storage.protocol import ObjectUrlError

_URL_KEY_CONTEXT = b"gotong-gql/object-urls/v1"
_SIGNATURE_VERSION = "gotong-object-url-v1"


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
