"""gotong_gql.evidence.media: hashing, type detection and EXIF, on files made here."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import struct
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import piexif
import pytest
from PIL import Image

from gotong_gql.evidence import media
from gotong_gql.evidence.media import (
    GPX,
    HEIC,
    HEIF,
    JPEG,
    JSON,
    PDF,
    PNG,
    ExifFacts,
    detect_type,
    inspect_stream,
    parse_exif,
    size_allowed,
)

WIB = timezone(timedelta(hours=7))
# 6° 12' 31.68" S = -6.2088 and 106° 48' 54" W = -106.815, both exact in decimal.
GPS = {
    piexif.GPSIFD.GPSLatitudeRef: b"S",
    piexif.GPSIFD.GPSLatitude: ((6, 1), (12, 1), (3168, 100)),
    piexif.GPSIFD.GPSLongitudeRef: b"W",
    piexif.GPSIFD.GPSLongitude: ((106, 1), (48, 1), (54, 1)),
    piexif.GPSIFD.GPSAltitudeRef: 0,
    piexif.GPSIFD.GPSAltitude: (1255, 10),
    piexif.GPSIFD.GPSDateStamp: b"2026:02:09",
    piexif.GPSIFD.GPSTimeStamp: ((10, 1), (30, 1), (5, 1)),
}


def exif_bytes(
    *,
    offset: bytes | None = b"+07:00",
    gps: dict[int, Any] | None = None,
    make: bytes = b"Canon",
    model: bytes = b"Canon EOS R6",
) -> bytes:
    exif: dict[int, Any] = {piexif.ExifIFD.DateTimeOriginal: b"2026:02:09 17:30:05"}
    if offset is not None:
        exif[piexif.ExifIFD.OffsetTimeOriginal] = offset
    return piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: make, piexif.ImageIFD.Model: model},
            "Exif": exif,
            "GPS": GPS if gps is None else gps,
        }
    )


def noise_image(width: int = 320, height: int = 240) -> Image.Image:
    """Random pixels, so that the JPEG is photo-sized (well above 50 KiB)."""
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def jpeg_with_exif(exif: bytes | None = None) -> bytes:
    plain = io.BytesIO()
    noise_image().save(plain, "JPEG", quality=95)
    if exif is None:
        return plain.getvalue()
    tagged = io.BytesIO()
    piexif.insert(exif, plain.getvalue(), tagged)
    return tagged.getvalue()


def png(exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    noise_image(64, 64).save(out, "PNG", **({"exif": exif} if exif else {}))
    return out.getvalue()


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def repeated(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def bytes_held(value: Any) -> int:
    """Bytes of every bytes/bytearray reachable through a (nested) dataclass."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    if dataclasses.is_dataclass(value):
        return sum(bytes_held(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


HEIC_FTYP = (
    struct.pack(">I", 28) + b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1heicmiaf" + b"\x00" * 32
)


# --- Hashing and streaming -------------------------------------------------------------------


async def test_jpeg_facts_hash_size_type_and_exact_exif() -> None:
    photo = jpeg_with_exif(exif_bytes())

    facts = await inspect_stream(chunked(photo, 4096))

    assert facts.sha256 == hashlib.sha256(photo).hexdigest()
    assert facts.size == len(photo)
    assert facts.content_type == JPEG
    assert facts.is_photo
    assert size_allowed(JPEG, facts.size)
    assert facts.exif == ExifFacts(
        camera_make="Canon",
        camera_model="Canon EOS R6",
        captured_at=datetime(2026, 2, 9, 17, 30, 5, tzinfo=WIB),
        gps_time=datetime(2026, 2, 9, 10, 30, 5, tzinfo=UTC),
        latitude=-6.2088,
        longitude=-106.815,
        altitude_m=125.5,
    )
    assert facts.exif.captured_at == facts.exif.gps_time
    assert facts.exif.as_json() == {
        "camera_make": "Canon",
        "camera_model": "Canon EOS R6",
        "captured_at": "2026-02-09T17:30:05+07:00",
        "gps_time": "2026-02-09T10:30:05Z",
        "latitude": -6.2088,
        "longitude": -106.815,
        "altitude_m": 125.5,
    }


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, 65536, 10**7])
async def test_the_chunking_changes_nothing(chunk_size: int) -> None:
    photo = jpeg_with_exif(exif_bytes())
    whole = await inspect_stream(chunked(photo, len(photo)))

    facts = await inspect_stream(chunked(photo, chunk_size))

    assert facts == whole


async def test_small_random_chunks_hash_like_hashlib() -> None:
    data = os.urandom(1_000_003)
    facts = await inspect_stream(chunked(data, 997))
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.size == len(data)
    assert facts.content_type is None
    assert facts.exif is None


async def test_empty_stream() -> None:
    facts = await inspect_stream(repeated([]))
    assert facts.sha256 == hashlib.sha256(b"").hexdigest()
    assert (facts.size, facts.content_type, facts.head, facts.exif) == (0, None, b"", None)


async def test_a_20_mb_stream_is_never_held_in_memory() -> None:
    photo = jpeg_with_exif(exif_bytes())
    filler = os.urandom(64 * 1024)
    count = 20 * 1024 * 1024 // len(filler)
    expected = hashlib.sha256(photo)
    for _ in range(count):
        expected.update(filler)

    tracemalloc.start()
    try:
        facts = await inspect_stream(repeated([photo, *([filler] * count)]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert facts.sha256 == expected.hexdigest()
    assert facts.size == len(photo) + count * len(filler)
    assert facts.exif is not None and facts.exif.camera_make == "Canon"
    assert bytes_held(facts) < 300 * 1024
    # The 256 KiB EXIF prefix and its copies; nothing that grows with the 20 MiB.
    assert peak < 2 * 1024 * 1024


# --- Type detection --------------------------------------------------------------------------


async def test_png_is_detected_and_its_exif_chunk_read() -> None:
    plain = png()
    tagged = png(exif_bytes(gps={}))

    assert (await inspect_stream(chunked(plain, 500))).content_type == PNG
    facts = await inspect_stream(chunked(tagged, 500))
    assert facts.content_type == PNG
    assert facts.exif is not None
    assert facts.exif.camera_model == "Canon EOS R6"
    assert facts.exif.captured_at == datetime(2026, 2, 9, 17, 30, 5, tzinfo=WIB)
    assert (facts.exif.latitude, facts.exif.longitude, facts.exif.altitude_m) == (None, None, None)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG),
        (HEIC_FTYP, HEIC),
        # Samsung style: generic major brand, HEVC in the compatible brands.
        (struct.pack(">I", 24) + b"ftypmif1\x00\x00\x00\x00mif1heic" + b"\x00" * 16, HEIC),
        (struct.pack(">I", 24) + b"ftypheix\x00\x00\x00\x00mif1heix" + b"\x00" * 16, HEIC),
        (struct.pack(">I", 20) + b"ftypmif1\x00\x00\x00\x00miaf" + b"\x00" * 16, HEIF),
        (struct.pack(">I", 28) + b"ftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 8, None),
        (struct.pack(">I", 24) + b"ftypmif1\x00\x00\x00\x00mif1avif" + b"\x00" * 16, None),
        (struct.pack(">I", 20) + b"ftypisom\x00\x00\x02\x00isommp41" + b"\x00" * 8, None),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", PDF),
        (b"\n  %PDF-1.4\n", PDF),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"junk before %PDF-1.4\n", None),
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<gpx version="1.1" creator="phone" xmlns="http://www.topografix.com/GPX/1/1">'
            b'<trk><trkseg><trkpt lat="-6.2088" lon="106.8456"><time>2026-02-09T10:30:00Z</time>'
            b"</trkpt></trkseg></trk></gpx>",
            GPX,
        ),
        (b"\xef\xbb\xbf<!-- exported --><gpx version='1.0'>", GPX),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', None),
        (b'{"type": "FeatureCollection", "features": []}', JSON),
        (b'  [{"lat": -6.2, "lon": 106.8}]', JSON),
        (b'{"not": "json"', None),
        (b"plain text notes", None),
        (b"{\x00\x01\x02\xff", None),
        (b"", None),
    ],
)
def test_detect_type(head: bytes, expected: str | None) -> None:
    assert detect_type(head, complete=True) == expected


def test_a_cut_head_may_end_inside_a_character_but_not_be_invalid() -> None:
    text = ('{"n": "' + "é" * 5000 + '"}').encode()
    head = text[: media.HEAD_BYTES]
    assert head[-1:] == b"\xc3"  # cut in the middle of a two-byte character
    assert detect_type(head) == JSON
    assert detect_type(head, complete=True) is None
    assert detect_type(b'{"a": "\xff\xfe"}') is None


async def test_json_larger_than_the_head_is_judged_by_its_start() -> None:
    document = b'{"points": [' + b'{"lat": -6.2, "lon": 106.8},' * 2000 + b"{}]}"
    facts = await inspect_stream(chunked(document, 3000))
    assert facts.content_type == JSON
    assert len(facts.head) == media.HEAD_BYTES


async def test_a_pdf_named_like_a_photo_is_still_a_pdf() -> None:
    document = b"%PDF-1.7\n" + os.urandom(60 * 1024)
    facts = await inspect_stream(chunked(document, 8192))
    assert facts.content_type == PDF
    assert not facts.is_photo
    assert facts.exif is None


async def test_heic_is_detected_without_exif() -> None:
    facts = await inspect_stream(chunked(HEIC_FTYP + os.urandom(100_000), 4096))
    assert facts.content_type == HEIC
    assert facts.is_photo
    assert facts.exif is None


# --- EXIF ------------------------------------------------------------------------------------


async def test_capture_time_without_offset_is_naive() -> None:
    facts = await inspect_stream(chunked(jpeg_with_exif(exif_bytes(offset=None)), 65536))
    assert facts.exif is not None
    assert facts.exif.captured_at == datetime(2026, 2, 9, 17, 30, 5)
    assert facts.exif.captured_at.tzinfo is None
    assert facts.exif.as_json()["captured_at"] == "2026-02-09T17:30:05"


async def test_negative_offset_north_east_and_below_sea_level() -> None:
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((52, 1), (30, 1), (0, 1)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((4, 1), (45, 1), (0, 1)),
        piexif.GPSIFD.GPSAltitudeRef: 1,
        piexif.GPSIFD.GPSAltitude: (7, 2),
    }
    photo = jpeg_with_exif(exif_bytes(offset=b"-03:30", gps=gps))
    facts = await inspect_stream(chunked(photo, 65536))
    assert facts.exif is not None
    assert facts.exif.captured_at == datetime(
        2026, 2, 9, 17, 30, 5, tzinfo=timezone(-timedelta(hours=3, minutes=30))
    )
    assert (facts.exif.latitude, facts.exif.longitude, facts.exif.altitude_m) == (52.5, 4.75, -3.5)
    assert facts.exif.gps_time is None


async def test_a_jpeg_without_exif_has_none() -> None:
    facts = await inspect_stream(chunked(jpeg_with_exif(), 65536))
    assert facts.content_type == JPEG
    assert facts.exif is None


async def test_impossible_coordinates_and_zero_denominators_are_dropped() -> None:
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((95, 1), (0, 1), (0, 1)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((10, 1), (0, 1), (0, 1)),
        piexif.GPSIFD.GPSAltitude: (5, 0),
    }
    facts = await inspect_stream(chunked(jpeg_with_exif(exif_bytes(gps=gps)), 65536))
    assert facts.exif is not None
    assert (facts.exif.latitude, facts.exif.longitude, facts.exif.altitude_m) == (None, None, None)
    assert facts.exif.camera_make == "Canon"


def _jpeg_app1(tiff: bytes) -> bytes:
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


async def test_an_entry_claiming_four_billion_values_is_refused_cheaply() -> None:
    # One IFD entry: Make, type BYTE, count 0xFFFFFFFF; piexif would build a 4 GB format string.
    tiff = (
        b"II*\x00"
        + struct.pack("<L", 8)
        + struct.pack("<H", 1)
        + struct.pack("<HHLL", piexif.ImageIFD.Make, 1, 0xFFFFFFFF, 0)
        + struct.pack("<L", 0)
    )
    assert parse_exif(tiff) is None
    facts = await inspect_stream(chunked(_jpeg_app1(tiff) + b"\xff\xd9", 1024))
    assert facts.content_type == JPEG
    assert facts.exif is None


@pytest.mark.parametrize(
    "tiff",
    [
        b"",
        b"II*\x00",
        b"II*\x00" + struct.pack("<L", 4000),
        b"MM\x00*" + struct.pack(">L", 8) + struct.pack(">H", 500),
        b"XX*\x00" + struct.pack("<L", 8) + b"\x00" * 16,
    ],
)
def test_broken_exif_is_no_exif(tiff: bytes) -> None:
    assert parse_exif(tiff) is None


async def test_a_truncated_exif_segment_is_no_exif() -> None:
    photo = jpeg_with_exif(exif_bytes())
    facts = await inspect_stream(chunked(photo[:200], 50))
    assert facts.content_type == JPEG
    assert facts.exif is None


async def test_exif_beyond_the_scanned_prefix_is_not_looked_for() -> None:
    filler = b"\xff\xe2" + struct.pack(">H", 65535) + b"\x00" * 65533
    photo = jpeg_with_exif(exif_bytes())
    late_exif = photo[:2] + filler * 5 + photo[2:]
    assert len(filler) * 5 > media.EXIF_SCAN_BYTES
    facts = await inspect_stream(chunked(late_exif, 65536))
    assert facts.content_type == JPEG
    assert facts.exif is None


# --- SPEC 3 limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "size", "allowed"),
    [
        (JPEG, 49 * 1024, False),
        (JPEG, 50 * 1024, True),
        (PNG, 10 * 1024 * 1024, True),
        (HEIC, 11 * 1000 * 1000, False),
        (HEIF, 1024 * 1024, True),
        (PDF, 1, True),
        (PDF, 0, False),
        (GPX, 10 * 1024 * 1024, True),
        (JSON, 10 * 1024 * 1024 + 1, False),
        ("image/gif", 100 * 1024, False),
    ],
)
def test_size_limits(content_type: str, size: int, allowed: bool) -> None:
    assert size_allowed(content_type, size) is allowed


def test_every_accepted_type_has_an_extension() -> None:
    assert set(media.FILE_EXTENSIONS) == media.PHOTO_TYPES | media.DOCUMENT_TYPES
