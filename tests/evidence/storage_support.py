"""What the object-store tests share: keys, a clock, a photo, upload bodies."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from gotong_gql.storage.keys import evidence_key

SECRET = b"object-url-key-for-tests-0123456789abcdef"
JWT_SECRET = "jwt-secret-for-storage-tests-" + "y" * 20
PHOTO = os.urandom(200 * 1024)
USER = uuid.UUID("11111111-1111-4111-8111-111111111111")
CONTRIBUTION = uuid.UUID("22222222-2222-4222-8222-222222222222")
MAX = 10 * 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def new_key(ext: str = "jpg") -> str:
    return evidence_key("photos", USER, CONTRIBUTION, ext)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def body_in_chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def leftovers(root: Path) -> list[Path]:
    return list((root / ".tmp").iterdir()) if (root / ".tmp").exists() else []


# --- Keys and signatures ---------------------------------------------------------------------
