"""Object keys: chosen by the server (`evidence_key`, SPEC 3) and checked by `validate_key`."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from gotong_gql.storage.protocol import InvalidKeyError

MAX_KEY_LENGTH = 512

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_KEY_PART = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")


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
