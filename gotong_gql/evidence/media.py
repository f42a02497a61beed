"""What an evidence file really is: SHA-256, size, type from its bytes, EXIF. Pure, no database.

`inspect_stream` reads the object once, chunk by chunk, and keeps in memory only the hash state,
the first `HEAD_BYTES` (for type detection) and a prefix of at most `EXIF_SCAN_BYTES`, where the
EXIF of a JPEG (its APP1 segment, at most 64 KiB, right after the start) and of a PNG (its `eXIf`
chunk, before the image data) is found; the prefix is dropped once parsed, so a `MediaFacts` holds
a few KB whatever the file's size.

Decisions:
- The type is decided by magic numbers only, never by the name or the declared type. HEIF is
  `ftyp` with a HEIC brand (`image/heic`) or only the generic `mif1`/`msf1` brands (`image/heif`);
  AVIF, which shares `mif1`, is not accepted. PDF: `%PDF-` at the start (after optional
  whitespace); junk before it, which some readers tolerate, is how polyglots are made, so it is
  refused. GPX: XML whose root element is `<gpx`. JSON: text starting with `{` or `[` that
  decodes as UTF-8; only a file that fits in the head is parsed in full (the job streams; the
  content of a GPS log is not validated here).
- EXIF of HEIC files is not extracted (it lives in an item the ISO-BMFF `iloc` box points to,
  anywhere in the file; piexif does not read it): their `exif` is None.
- Capture time: DateTimeOriginal with OffsetTimeOriginal gives an aware datetime. Without an
  offset the result is naive: the camera's wall clock in an unknown zone. It is not guessed as
  UTC; a caller comparing it with an aware time must decide (e.g. read it in the zone of the
  client's proof timestamp). Falls back to DateTimeDigitized, then the image's DateTime, each with
  its own offset tag. The GPS time stamp, which is UTC by definition, is reported separately.
- EXIF is hostile input: the TIFF structure is checked (every entry's data must fit in the
  segment) before piexif sees it, because piexif builds a format string as long as an entry's
  declared count; any parsing failure yields no EXIF rather than an error.
- SPEC 3 sizes are binary: a photo is 50 KiB to 10 MiB, a document or GPS log at most 10 MiB.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import re
import struct
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import piexif

log = logging.getLogger(__name__)

KIB = 1024
MIB = 1024 * KIB

JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
HEIF = "image/heif"
PDF = "application/pdf"
GPX = "application/gpx+xml"
JSON = "application/json"

PHOTO_TYPES = frozenset({JPEG, PNG, HEIC, HEIF})
DOCUMENT_TYPES = frozenset({PDF, GPX, JSON})
MIN_PHOTO_BYTES = 50 * KIB
MAX_PHOTO_BYTES = 10 * MIB
MAX_DOCUMENT_BYTES = 10 * MIB
FILE_EXTENSIONS = {
    JPEG: "jpg",
    PNG: "png",
    HEIC: "heic",
    HEIF: "heif",
    PDF: "pdf",
    GPX: "gpx",
    JSON: "json",
}

HEAD_BYTES = 8 * KIB
EXIF_SCAN_BYTES = 256 * KIB

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# An optional XML declaration, comments or a doctype, then the root element `<gpx`.
_GPX_ROOT = re.compile(
    rb"^(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<gpx[\s>/]", re.S
)
_EXIF_HEADER = b"Exif\x00\x00"
# Bytes per value of each TIFF field type; unknown types count as one byte.
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_EXIF_IFD_POINTER = 34665
_GPS_IFD_POINTER = 34853
_INTEROP_IFD_POINTER = 40965
_EXIF_DATETIME = "%Y:%m:%d %H:%M:%S"
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_OFFSET_TIME = piexif.ExifIFD.OffsetTime
_OFFSET_ORIGINAL = piexif.ExifIFD.OffsetTimeOriginal
_OFFSET_DIGITIZED = piexif.ExifIFD.OffsetTimeDigitized


@dataclass(frozen=True)
class ExifFacts:
    camera_make: str | None = None
    camera_model: str | None = None
    captured_at: datetime | None = None
    gps_time: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The facts as JSON values (times in ISO 8601; a naive capture time has no offset)."""
        return {
            "camera_make": self.camera_make,
            "camera_model": self.camera_model,
            "captured_at": self.captured_at.isoformat() if self.captured_at else None,
            "gps_time": self.gps_time.isoformat().replace("+00:00", "Z") if self.gps_time else None,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "altitude_m": self.altitude_m,
        }


@dataclass(frozen=True)
class MediaFacts:
    sha256: str
    size: int
    content_type: str | None
    head: bytes
    exif: ExifFacts | None

    @property
    def is_photo(self) -> bool:
        return self.content_type in PHOTO_TYPES


def size_allowed(content_type: str, size: int) -> bool:
    """SPEC 3 size limits for an accepted type; False for any other type."""
    if content_type in PHOTO_TYPES:
        return MIN_PHOTO_BYTES <= size <= MAX_PHOTO_BYTES
    if content_type in DOCUMENT_TYPES:
        return 0 < size <= MAX_DOCUMENT_BYTES
    return False


async def inspect_stream(chunks: AsyncIterable[bytes]) -> MediaFacts:
    """Hashes and measures the stream in one pass, then detects its type and reads its EXIF."""
    digest = hashlib.sha256()
    size = 0
    prefix = bytearray()
    async for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if len(prefix) < EXIF_SCAN_BYTES:
            prefix += chunk[: EXIF_SCAN_BYTES - len(prefix)]
    head = bytes(prefix[:HEAD_BYTES])
    content_type = detect_type(head, complete=size <= HEAD_BYTES)
    exif = extract_exif(prefix, content_type)
    return MediaFacts(
        sha256=digest.hexdigest(), size=size, content_type=content_type, head=head, exif=exif
    )


def detect_type(head: bytes, *, complete: bool = False) -> str | None:
    """The mime type decided by the first bytes, or None; `complete` says `head` is the file."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head[4:8] == b"ftyp":
        return _heif_type(head)
    if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"%PDF-"):
        return PDF
    return _text_type(head, complete)


def _heif_type(head: bytes) -> str | None:
    """From the `ftyp` box: the major brand, then the compatible brands after the minor version."""
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16:
        return None
    major = head[8:12]
    brands = {major} | {
        head[offset : offset + 4] for offset in range(16, min(box_size, len(head)) - 3, 4)
    }
    if major in _AVIF_BRANDS:
        return None
    if brands & _HEIC_BRANDS:
        return HEIC
    if brands & _HEIF_BRANDS and not brands & _AVIF_BRANDS:
        return HEIF
    return None


def _text_type(head: bytes, complete: bool) -> str | None:
    text = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in text or not _is_utf8(text, complete):
        return None
    stripped = text.lstrip()
    if stripped.startswith(b"<"):
        return GPX if _GPX_ROOT.match(stripped) else None
    if stripped.startswith((b"{", b"[")):
        if complete:
            try:
                json.loads(text)
            except ValueError:
                return None
        return JSON
    return None


def _is_utf8(data: bytes, complete: bool) -> bool:
    """Whether `data` is UTF-8; unless complete, it may end inside a character (a cut head)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


# --- EXIF ------------------------------------------------------------------------------------


def extract_exif(prefix: bytes | bytearray, content_type: str | None) -> ExifFacts | None:
    """EXIF of a JPEG or PNG from the start of the file; None when absent, cut off or broken."""
    if content_type == JPEG:
        tiff = find_jpeg_exif(prefix)
    elif content_type == PNG:
        tiff = find_png_exif(prefix)
    else:
        return None
    return parse_exif(tiff) if tiff else None


def find_jpeg_exif(data: bytes | bytearray) -> bytes | None:
    """The TIFF body of the first `Exif` APP1 segment, walking the markers before the scan."""
    if not data.startswith(b"\xff\xd8"):
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            return None
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(data):
            return None
        payload = data[position + 4 : end]
        if marker == 0xE1 and payload.startswith(_EXIF_HEADER):
            return bytes(payload[len(_EXIF_HEADER) :])
        position = end
    return None


def find_png_exif(data: bytes | bytearray) -> bytes | None:
    """The data of the `eXIf` chunk, if it comes before the image data."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = bytes(data[position + 4 : position + 8])
        start = position + 8
        if kind in (b"IDAT", b"IEND") or start + length > len(data):
            return None
        if kind == b"eXIf":
            return bytes(data[start : start + length])
        position = start + length + 4  # the CRC
    return None


def parse_exif(tiff: bytes) -> ExifFacts | None:
    """ExifFacts from a TIFF-structured EXIF body (starting `II*\\0` or `MM\\0*`)."""
    if not _tiff_is_sound(tiff):
        return None
    try:
        tags = piexif.load(tiff)
        return _facts(tags.get("0th", {}), tags.get("Exif", {}), tags.get("GPS", {}))
    except Exception:  # piexif on hostile bytes can fail in many ways; no EXIF then
        log.debug("unreadable EXIF", exc_info=True)
        return None


def _tiff_is_sound(tiff: bytes) -> bool:
    """Every IFD piexif will read lies inside `tiff`, and so does every entry's declared data."""
    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return False
    endian = "<" if tiff[:2] == b"II" else ">"

    def read_ifd(offset: int) -> tuple[dict[int, int], int] | None:
        """The IFD's tags (each with its 4-byte value field) and the next IFD's offset."""
        if offset < 8 or offset + 2 > len(tiff):
            return None
        (count,) = struct.unpack_from(endian + "H", tiff, offset)
        end = offset + 2 + 12 * count
        if end + 4 > len(tiff):
            return None
        values = {}
        for entry in range(offset + 2, end, 12):
            tag, kind, count_of_values, value = struct.unpack_from(endian + "HHLL", tiff, entry)
            if count_of_values * _TIFF_TYPE_SIZES.get(kind, 1) > len(tiff):
                return None
            values[tag] = value
        (next_offset,) = struct.unpack_from(endian + "L", tiff, end)
        return values, next_offset

    zeroth = read_ifd(struct.unpack_from(endian + "L", tiff, 4)[0])
    if zeroth is None:
        return False
    tags, first_offset = zeroth
    pointers = [tags[tag] for tag in (_EXIF_IFD_POINTER, _GPS_IFD_POINTER) if tag in tags]
    if first_offset:
        pointers.append(first_offset)
    if _EXIF_IFD_POINTER in tags:
        exif_ifd = read_ifd(tags[_EXIF_IFD_POINTER])
        if exif_ifd is not None and _INTEROP_IFD_POINTER in exif_ifd[0]:
            pointers.append(exif_ifd[0][_INTEROP_IFD_POINTER])
    return all(read_ifd(pointer) is not None for pointer in pointers)


def _facts(zeroth: dict[int, Any], exif: dict[int, Any], gps: dict[int, Any]) -> ExifFacts:
    captured_at = (
        _datetime(exif.get(piexif.ExifIFD.DateTimeOriginal), exif.get(_OFFSET_ORIGINAL))
        or _datetime(exif.get(piexif.ExifIFD.DateTimeDigitized), exif.get(_OFFSET_DIGITIZED))
        or _datetime(zeroth.get(piexif.ImageIFD.DateTime), exif.get(_OFFSET_TIME))
    )
    latitude = _coordinate(
        gps.get(piexif.GPSIFD.GPSLatitude), gps.get(piexif.GPSIFD.GPSLatitudeRef), b"S", 90
    )
    longitude = _coordinate(
        gps.get(piexif.GPSIFD.GPSLongitude), gps.get(piexif.GPSIFD.GPSLongitudeRef), b"W", 180
    )
    if latitude is None or longitude is None:
        latitude = longitude = None
    return ExifFacts(
        camera_make=_text(zeroth.get(piexif.ImageIFD.Make)),
        camera_model=_text(zeroth.get(piexif.ImageIFD.Model)),
        captured_at=captured_at,
        gps_time=_gps_time(
            gps.get(piexif.GPSIFD.GPSDateStamp), gps.get(piexif.GPSIFD.GPSTimeStamp)
        ),
        latitude=latitude,
        longitude=longitude,
        altitude_m=_altitude(
            gps.get(piexif.GPSIFD.GPSAltitude), gps.get(piexif.GPSIFD.GPSAltitudeRef)
        ),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n") or None


def _datetime(value: Any, offset: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.strptime(text[:19], _EXIF_DATETIME)
    except ValueError:
        return None
    match = _OFFSET.match(_text(offset) or "")
    if match is None:
        return moment
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return moment
    return moment.replace(tzinfo=timezone(-delta if sign == "-" else delta))


def _rational(value: Any) -> Fraction | None:
    if not (isinstance(value, tuple) and len(value) == 2) or not value[1]:
        return None
    return Fraction(value[0], value[1])


def _three_rationals(value: Any) -> tuple[Fraction, Fraction, Fraction] | None:
    """Degrees-minutes-seconds or hours-minutes-seconds, each an EXIF rational."""
    if not (isinstance(value, tuple) and len(value) == 3):
        return None
    first, second, third = (_rational(part) for part in value)
    if first is None or second is None or third is None:
        return None
    return first, second, third


def _coordinate(value: Any, ref: Any, negative_ref: bytes, limit: int) -> float | None:
    parts = _three_rationals(value)
    if parts is None:
        return None
    degrees, minutes, seconds = parts
    decimal = float(degrees + minutes / 60 + seconds / 3600)
    if isinstance(ref, str):
        ref = ref.encode()
    if isinstance(ref, bytes) and ref.strip(b"\x00 ").upper() == negative_ref:
        decimal = -decimal
    return decimal if -limit <= decimal <= limit else None


def _altitude(value: Any, ref: Any) -> float | None:
    altitude = _rational(value)
    if altitude is None:
        return None
    below_sea_level = ref == 1 or ref == b"\x01"
    return float(-altitude if below_sea_level else altitude)


def _gps_time(date: Any, time_of_day: Any) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp, which are UTC by definition."""
    text = _text(date)
    parts = _three_rationals(time_of_day)
    if text is None or parts is None:
        return None
    try:
        day = datetime.strptime(text[:10], "%Y:%m:%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    hours, minutes, seconds = parts
    elapsed = timedelta(seconds=float(hours * 3600 + minutes * 60 + seconds))
    return day + elapsed if timedelta(0) <= elapsed < timedelta(days=1) else None
