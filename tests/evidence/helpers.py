"""Real files for evidence tests: JPEGs made with Pillow, EXIF written with piexif."""

from __future__ import annotations

import io
import os
from datetime import datetime
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

import piexif
from PIL import Image

from tests.helpers import create_task, create_user, register

CONTRIBUTE = """mutation { contributionCreate(input: {contributionType: COMMUNITY_SERVICE,
  title: "Cleaned the river"}) { contribution { id } errors { code } } }"""
REQUEST = """mutation($input: EvidenceUploadRequestInput!) { evidenceUploadRequest(input: $input) {
  evidence { id status } upload { url method headers { name value } expiresAt }
  errors { path code message } } }"""
CONFIRM = """mutation($id: ID!) { evidenceUploadConfirm(input: {evidenceId: $id}) {
  evidence { id status } errors { path code } } }"""
EVIDENCE = """query($id: ID!) { evidence(id: $id) { status mediaHash exif rejectionReason
  warnings { code } contentType sizeBytes fileUrl } }"""


def _rational(value: float, denominator: int = 10000) -> tuple[int, int]:
    fraction = Fraction(value).limit_denominator(denominator)
    return fraction.numerator, fraction.denominator


def _dms(value: float) -> tuple[tuple[int, int], ...]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (degrees, 1), (minutes, 1), _rational(seconds)


def make_jpeg(
    *,
    captured: datetime,
    latitude: float = -7.7956,
    longitude: float = 110.3695,
    altitude: float = 114.5,
    make: str = "Fairphone",
    model: str = "FP5",
    min_bytes: int = 60 * 1024,
) -> bytes:
    """A real JPEG with EXIF: noise pixels so that it is over `min_bytes` (SPEC: >= 50 KB)."""
    side = 256
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        exif = {
            "0th": {piexif.ImageIFD.Make: make.encode(), piexif.ImageIFD.Model: model.encode()},
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: captured.strftime("%Y:%m:%d %H:%M:%S").encode(),
                piexif.ExifIFD.OffsetTimeOriginal: captured.strftime("%z")[:3].encode()
                + b":"
                + captured.strftime("%z")[3:].encode(),
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"S" if latitude < 0 else b"N",
                piexif.GPSIFD.GPSLatitude: _dms(latitude),
                piexif.GPSIFD.GPSLongitudeRef: b"W" if longitude < 0 else b"E",
                piexif.GPSIFD.GPSLongitude: _dms(longitude),
                piexif.GPSIFD.GPSAltitudeRef: 0,
                piexif.GPSIFD.GPSAltitude: _rational(altitude, 100),
            },
        }
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=95, exif=piexif.dump(exif))
        if len(buffer.getvalue()) >= min_bytes:
            return buffer.getvalue()
        side *= 2


async def contributor_with_contribution(api: Any, name: str = "ayu"):
    account = await register(api, name)
    data = await api.gql(CONTRIBUTE, token=account.token)
    return account, data["contributionCreate"]["contribution"]["id"]


async def task_contribution(api: Any):
    """A contribution made by completing a task: its creator may see the evidence too."""
    organizer = await create_user(api, "siti", ["organizer"])
    worker = await register(api, "budi")
    task = await create_task(api, organizer, title="River cleanup")
    for document, variables, who in [
        (
            "mutation($t: ID!, $u: ID!) { taskAssign(input: {taskId: $t, assigneeId: $u})"
            " { errors { code } } }",
            {"t": task["id"], "u": worker.id},
            organizer,
        ),
        (
            "mutation($t: ID!) { taskStart(input: {taskId: $t}) { errors { code } } }",
            {"t": task["id"]},
            worker,
        ),
    ]:
        await api.gql(document, variables, who.token)
    done = await api.gql(
        "mutation($t: ID!) { taskComplete(input: {taskId: $t})"
        " { contribution { id } errors { code } } }",
        {"t": task["id"]},
        worker.token,
    )
    return organizer, worker, done["taskComplete"]["contribution"]["id"]


def upload_headers(upload: dict[str, Any]) -> dict[str, str]:
    """A presigned upload's `headers { name value }`, as a client sends them."""
    return {header["name"]: header["value"] for header in upload["headers"]}


async def put_object(api: Any, upload: dict[str, Any], body: bytes, http: Any):
    """PUT the bytes to the presigned URL: through the app for the local store, to S3 else."""
    url = upload["url"]
    if urlsplit(url).hostname == api.client.base_url.host:  # on the address of the request
        return await api.client.put(url, content=body, headers=upload_headers(upload))
    return await http.put(url, content=body, headers=upload_headers(upload))
