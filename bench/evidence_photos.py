"""The photos of bench/evidence_upload.py: real JPEGs with EXIF (piexif), fresh noise pixels so
that each is different, padded after the end-of-image marker to an exact size; and the time the
worker's own inspection of one takes in this process (the reference)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import math
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import piexif
from harness.base import BenchError
from PIL import Image

from gotong_gql.evidence import media
from gotong_gql.storage.local import LocalObjectStore

MB = 1_000_000
WIB = timezone(timedelta(hours=7))
LATITUDE, LONGITUDE = -7.7956, 110.3695
CAMERA = ("Fairphone", "FP5")
# Noise pixels in a quality-100 4:4:4 JPEG cost about 4.1 bytes each: a photo is encoded just
# under its size, then padded after its end-of-image marker (readers ignore what follows it).
NOISE_BYTES_PER_PIXEL = 4.1


def _rational(value: float, denominator: int = 10000) -> tuple[int, int]:
    fraction = Fraction(value).limit_denominator(denominator)
    return fraction.numerator, fraction.denominator


def _dms(value: float) -> tuple[tuple[int, int], ...]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (degrees, 1), (minutes, 1), _rational(seconds)


def exif_bytes(captured: datetime) -> bytes:
    offset = captured.strftime("%z")
    return piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Make: CAMERA[0].encode(),
                piexif.ImageIFD.Model: CAMERA[1].encode(),
            },
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: captured.strftime("%Y:%m:%d %H:%M:%S").encode(),
                piexif.ExifIFD.OffsetTimeOriginal: f"{offset[:3]}:{offset[3:]}".encode(),
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"S",
                piexif.GPSIFD.GPSLatitude: _dms(LATITUDE),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: _dms(LONGITUDE),
                piexif.GPSIFD.GPSAltitudeRef: 0,
                piexif.GPSIFD.GPSAltitude: _rational(114.5, 100),
            },
        }
    )


@dataclass(frozen=True)
class Photo:
    data: bytes
    captured: datetime
    width: int
    height: int
    padding: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def make_photo(size: int) -> Photo:
    """A 4:3 JPEG of fresh noise with EXIF, exactly `size` bytes (padded after its EOI)."""
    captured = datetime.now(WIB).replace(microsecond=0)
    exif = exif_bytes(captured)
    pixels = size * 0.97 / NOISE_BYTES_PER_PIXEL
    width = max(64, int(math.sqrt(pixels * 4 / 3)) // 16 * 16)
    for _ in range(20):
        height = width * 3 // 4
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=100, subsampling=0, exif=exif)
        encoded = buffer.getvalue()
        if len(encoded) <= size:
            if not (encoded.startswith(b"\xff\xd8\xff") and encoded.endswith(b"\xff\xd9")):
                raise BenchError("Pillow wrote something that is not a whole JPEG")
            padding = size - len(encoded)
            return Photo(encoded + os.urandom(padding), captured, width, height, padding)
        width -= 16
    raise BenchError(f"could not make a JPEG of at most {size} bytes")


def make_photos(count: int, size: int) -> list[Photo]:
    photos = [make_photo(size) for _ in range(count)]
    if len({photo.sha256 for photo in photos}) != count:
        raise BenchError("two photos have the same SHA-256")
    return photos


# --- /proc ----------------------------------------------------------------------------------


def hash_reference(photo: Photo, repeats: int = 3) -> dict[str, Any]:
    """The job's own read and inspection of one object, in this process: `inspect_stream` over
    `LocalObjectStore.iter_chunks` of a file in the page cache (best of `repeats`)."""

    async def inspect(store: LocalObjectStore, key: str) -> media.MediaFacts:
        async with contextlib.aclosing(store.iter_chunks(key)) as chunks:
            return await media.inspect_stream(chunks)

    with tempfile.TemporaryDirectory(prefix="gotong-bench-hash-") as root:
        store = LocalObjectStore(root=Path(root), base_url="http://127.0.0.1", secret=b"bench")
        key = "photos/bench.jpg"
        store.path_for(key).parent.mkdir(parents=True)
        store.path_for(key).write_bytes(photo.data)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            facts = asyncio.run(inspect(store, key))
            times.append((time.perf_counter() - started) * 1000)
        plain = time.perf_counter()
        hashlib.sha256(photo.data).hexdigest()
        sha_only = (time.perf_counter() - plain) * 1000
    if facts.sha256 != photo.sha256 or facts.exif is None:
        raise BenchError("inspect_stream disagrees with hashlib on the reference photo")
    return {
        "bytes": len(photo.data),
        "inspect_stream_ms": round(min(times), 1),
        "hashlib_sha256_ms": round(sha_only, 1),
    }
