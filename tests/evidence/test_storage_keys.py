"""Object keys (SPEC 3) and the signed object URLs."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gotong_gql.storage.keys import evidence_key, validate_key
from gotong_gql.storage.protocol import (
    InvalidKeyError,
    ObjectUrlError,
)
from gotong_gql.storage.signing import derive_object_url_key, sign_object_url, verify_object_url
from tests.evidence.storage_support import (
    CONTRIBUTION,
    JWT_SECRET,
    SECRET,
    USER,
)


def test_evidence_key_follows_spec_3() -> None:
    now = datetime(2026, 2, 9, 23, 30, tzinfo=UTC)
    key = evidence_key("photos", USER, CONTRIBUTION, ".JPG", now)
    pattern = rf"photos/2026/02/09/{USER}_{CONTRIBUTION}_([0-9a-f-]{{36}})\.jpg"
    match = re.fullmatch(pattern, key)
    assert match is not None
    assert uuid.UUID(match.group(1)).version == 4
    assert evidence_key("photos", USER, CONTRIBUTION, "jpg", now) != key


def test_evidence_key_uses_the_utc_date() -> None:
    late_in_jakarta = datetime(2026, 2, 10, 5, 0, tzinfo=timezone(timedelta(hours=7)))
    assert evidence_key("gps", USER, CONTRIBUTION, "gpx", late_in_jakarta).startswith(
        "gps/2026/02/09/"
    )


@pytest.mark.parametrize(
    ("category", "ext"), [("Photos", "jpg"), ("../x", "jpg"), ("photos", "j/pg"), ("photos", "")]
)
def test_evidence_key_refuses_odd_parts(category: str, ext: str) -> None:
    with pytest.raises(InvalidKeyError):
        evidence_key(category, USER, CONTRIBUTION, ext)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../etc/passwd",
        "a/../b",
        "/abs",
        "a//b",
        "a/",
        ".tmp/x",
        "a/.meta",
        "a b",
        "é",
        "k" * 513,
    ],
)
def test_validate_key_refuses_escapes_and_reserved_names(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(key)


def test_signatures_cover_every_field() -> None:
    expires = int(time.time()) + 60
    signature = sign_object_url(
        SECRET, "PUT", "a/b.jpg", expires, content_type="image/jpeg", max_bytes=100
    )
    verify_object_url(
        SECRET, signature, "PUT", "a/b.jpg", expires, content_type="image/jpeg", max_bytes=100
    )
    changed = [
        (SECRET, "GET", "a/b.jpg", expires, "image/jpeg", 100),
        (SECRET, "PUT", "a/c.jpg", expires, "image/jpeg", 100),
        (SECRET, "PUT", "a/b.jpg", expires + 1, "image/jpeg", 100),
        (SECRET, "PUT", "a/b.jpg", expires, "image/png", 100),
        (SECRET, "PUT", "a/b.jpg", expires, "image/jpeg", 101),
        (SECRET + b"x", "PUT", "a/b.jpg", expires, "image/jpeg", 100),
    ]
    for secret, method, key, expiry, content_type, max_bytes in changed:
        with pytest.raises(ObjectUrlError, match="signature"):
            verify_object_url(
                secret,
                signature,
                method,
                key,
                expiry,
                content_type=content_type,
                max_bytes=max_bytes,
            )
    with pytest.raises(ObjectUrlError, match="expired"):
        verify_object_url(
            SECRET,
            signature,
            "PUT",
            "a/b.jpg",
            expires,
            content_type="image/jpeg",
            max_bytes=100,
            now=expires + 1,
        )


def test_the_url_key_is_derived_not_the_jwt_key() -> None:
    derived = derive_object_url_key(JWT_SECRET)
    assert len(derived) == 32
    assert derived != JWT_SECRET.encode()
    assert derived == derive_object_url_key(JWT_SECRET)
    assert derived != derive_object_url_key(JWT_SECRET + "x")


# --- Local store -----------------------------------------------------------------------------
