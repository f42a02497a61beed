"""`gotong-gql evidence verify`: re-hash stored objects and list those whose bytes changed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rich.console import Console
from rich.progress import track
from sqlalchemy import select

from gotong_gql.evidence import media
from gotong_gql.evidence.models import Evidence
from gotong_gql.services import Services
from gotong_gql.settings import Settings
from gotong_gql.storage.protocol import ObjectStoreError


@dataclass(frozen=True)
class Mismatch:
    evidence_id: str
    key: str
    stored: str | None
    found: str | None


async def verify_objects(
    settings: Settings, *, everything: bool, console: Console
) -> tuple[int, list[Mismatch]]:
    """Verified evidence (or, with `everything`, every hashed object); returns (checked, bad)."""
    services = Services.create(settings)
    checked, bad = 0, []
    try:
        query = select(Evidence).where(
            Evidence.object_key.is_not(None), Evidence.media_hash.is_not(None)
        )
        if not everything:
            query = query.where(Evidence.status == "verified")
        async with services.session_factory() as session:
            rows = list(await session.scalars(query.order_by(Evidence.created_at)))
        for evidence in track(rows, description="re-hashing", console=console):
            checked += 1
            try:
                async with contextlib.aclosing(
                    services.storage.iter_chunks(evidence.object_key)
                ) as chunks:
                    found = (await media.inspect_stream(chunks)).sha256
            except ObjectStoreError:
                found = None
            if found != evidence.media_hash:
                bad.append(
                    Mismatch(str(evidence.id), evidence.object_key, evidence.media_hash, found)
                )
    finally:
        await services.close()
    return checked, bad
