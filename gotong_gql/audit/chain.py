"""Hash chains over the append-only tables: `audit_log` and `credit_transactions` (SPEC 9).

Each row of a chained table stores its position `seq` (1, 2, 3, ... per table), `prev_hash`
(the `hash` of the row before it; 64 zeros for the first) and

    hash = SHA-256(canonical JSON of {<the row's content>, "seq": seq, "prev_hash": prev_hash})

where the canonical JSON has sorted keys, no whitespace, UTF-8 (not \\u-escaped), uuids as
lowercase text, times as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ` and integral numbers as integers
(PostgreSQL's JSONB gives 1e16 back as 10000000000000000: one canonical form for both). A
credit transaction's content includes its postings, so a changed or deleted posting changes
its transaction's hash. An UPDATE of a row changes its recomputed hash; a DELETE breaks the next
row's `prev_hash` (and the run of `seq`); a removed tail no longer matches the chain's head row
(`audit_chain_heads`). A rewrite of a whole chain, heads included, is what the hourly
checkpoints in the logs (audit/verify.py) are for.

Appends are serialised per chain, so that two writers never fork it: the rows are not written
where the service makes them but buffered on the unit of work, which seals them just before it
commits (`seal`): it locks the chain's head row (`FOR UPDATE` on PostgreSQL; SQLite's write
lock is the unit of work's already), numbers and hashes the rows, inserts them and moves the
head. The head lock is the last lock any transaction takes, always in the same order of chains
(alphabetical), and is held only for the seal and the commit: no deadlock with the row locks
taken earlier, and a short queue.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.models import AuditLog, ChainHead
from gotong_gql.db import utcnow

GENESIS = "0" * 64
AUDIT_CHAIN = "audit_log"
CREDIT_CHAIN = "credit_transactions"


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        _normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def link_hash(content: dict[str, Any], seq: int, prev_hash: str) -> str:
    return hashlib.sha256(
        canonical_json({**content, "seq": seq, "prev_hash": prev_hash})
    ).hexdigest()


def audit_content(row: AuditLog) -> dict[str, Any]:
    """What an audit entry's hash covers: every column but the chain's own."""
    return {
        "id": row.id,
        "actor_id": row.actor_id,
        "action": row.action,
        "entity": row.entity,
        "entity_id": row.entity_id,
        "before": row.before,
        "after": row.after,
        "request_id": row.request_id,
        "at": row.at,
    }


@dataclass
class Link:
    """A row waiting to be appended to `chain`, and the rows that refer to it (a transaction's
    postings), inserted after it."""

    chain: str
    row: Any
    content: dict[str, Any]
    followers: list[Any] = field(default_factory=list)


async def lock_head(session: AsyncSession, chain: str) -> ChainHead:
    """The chain's head row, locked until the transaction ends; made when missing (a new
    database has one per chain from its migration; an emptied one gets it back here)."""
    query = (
        select(ChainHead)
        .where(ChainHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = await session.scalar(query)
    if head is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        await session.execute(
            dialect.insert(ChainHead)
            .values(chain=chain, seq=0, hash=GENESIS)
            .on_conflict_do_nothing(index_elements=["chain"])
        )
        head = await session.scalar(query)
    assert head is not None
    return head


async def seal(session: AsyncSession, links: Iterable[Link]) -> None:
    """Number, hash and insert the buffered rows, one chain after another, then flush."""
    pending = list(links)
    for chain in sorted({link.chain for link in pending}):
        head = await lock_head(session, chain)
        mine = [link for link in pending if link.chain == chain]
        for link in mine:
            seq = head.seq + 1
            digest = link_hash(link.content, seq, head.hash)
            link.row.seq, link.row.prev_hash, link.row.hash = seq, head.hash, digest
            session.add(link.row)
            head.seq, head.hash = seq, digest
        head.at = utcnow()
        await session.flush()
        for link in mine:
            session.add_all(link.followers)
    await session.flush()
