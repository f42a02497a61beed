"""Checking the hash chains (audit/chain.py): `gotong-gql audit verify`, the heads that admins
read (`auditCheckpoint`), and the checkpoint the worker logs every hour.

`verify` reads each chain's head first, then walks its rows in order up to that head (rows
appended meanwhile are left for the next run, so a busy server gives no false alarm): every
row's `seq` must follow the previous one, its `prev_hash` must be the previous row's `hash`, and
its `hash` must be what its content gives; the last row must be the head. It also checks that
every account's balance is the sum of its postings. The first difference is returned.

What a chain cannot show by itself: someone with write access who rewrites a whole chain
(every row re-hashed and the head moved) leaves a consistent chain behind. The checkpoints
logged every AUDIT_CHECKPOINT_INTERVAL_SECONDS (an hour) by the worker (by the API process in
the embedded mode) catch that, once the logs are kept where the database's writers cannot edit
them: `gotong-gql audit verify --checkpoint audit_log:<count>:<hash>` checks that the chain
still holds that hash at that position.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.chain import (
    AUDIT_CHAIN,
    CREDIT_CHAIN,
    GENESIS,
    audit_content,
    link_hash,
)
from gotong_gql.audit.models import AuditLog, ChainHead
from gotong_gql.credit.ledger import transaction_content
from gotong_gql.credit.models import CreditAccount, CreditPosting, CreditTransaction

log = logging.getLogger(__name__)
CHAINS = (AUDIT_CHAIN, CREDIT_CHAIN)
BATCH = 500

Progress = Callable[[str, int], None]  # (chain, rows just checked)


@dataclass(frozen=True)
class Checkpoint:
    chain: str
    head: str
    count: int
    at: datetime | None


@dataclass(frozen=True)
class BrokenLink:
    table: str
    id: str
    problem: str
    expected: str
    found: str


async def checkpoints(session: AsyncSession) -> list[Checkpoint]:
    """The head of every chain (an empty chain: 64 zeros, 0 rows)."""
    heads = {row.chain: row for row in await session.scalars(select(ChainHead))}
    return [
        Checkpoint(chain, heads[chain].hash, heads[chain].seq, heads[chain].at)
        if chain in heads
        else Checkpoint(chain, GENESIS, 0, None)
        for chain in CHAINS
    ]


async def chain_lengths(session: AsyncSession) -> dict[str, int]:
    return {point.chain: point.count for point in await checkpoints(session)}


async def _audit_rows(session: AsyncSession, upto: int) -> AsyncIterator[tuple[Any, dict]]:
    after = 0
    while True:
        rows = list(
            await session.scalars(
                select(AuditLog)
                .where(AuditLog.seq > after, AuditLog.seq <= upto)
                .order_by(AuditLog.seq)
                .limit(BATCH)
            )
        )
        for row in rows:
            yield row, audit_content(row)
        if len(rows) < BATCH:
            return
        after = rows[-1].seq
        session.expunge_all()


async def _credit_rows(session: AsyncSession, upto: int) -> AsyncIterator[tuple[Any, dict]]:
    after = 0
    while True:
        rows = list(
            await session.scalars(
                select(CreditTransaction)
                .where(CreditTransaction.seq > after, CreditTransaction.seq <= upto)
                .order_by(CreditTransaction.seq)
                .limit(BATCH)
            )
        )
        postings: dict[Any, list[CreditPosting]] = {row.id: [] for row in rows}
        for posting in await session.scalars(
            select(CreditPosting).where(CreditPosting.transaction_id.in_(list(postings)))
        ):
            postings[posting.transaction_id].append(posting)
        for row in rows:
            yield row, transaction_content(row, postings[row.id])
        if len(rows) < BATCH:
            return
        after = rows[-1].seq
        session.expunge_all()


_ROWS = {AUDIT_CHAIN: _audit_rows, CREDIT_CHAIN: _credit_rows}


def _check_row(chain: str, row: Any, content: dict, seq: int, prev: str) -> BrokenLink | None:
    def broken(problem: str, expected: str, found: str) -> BrokenLink:
        return BrokenLink(chain, str(row.id), problem, expected, found)

    computed = link_hash(content, row.seq, row.prev_hash)
    if computed != row.hash:
        return broken(
            f"row {row.seq} was changed: its content does not give its hash", computed, row.hash
        )
    if row.prev_hash != prev:
        return broken(
            f"row {row.seq} does not follow row {seq - 1}: a row before it was removed or changed",
            prev,
            row.prev_hash,
        )
    if row.seq != seq:
        return broken(
            f"row {seq} is missing: the next row found is {row.seq}", str(seq), str(row.seq)
        )
    return None


async def _verify_chain(
    session: AsyncSession, head: Checkpoint, progress: Progress
) -> BrokenLink | None:
    seq, prev = 0, GENESIS
    async for row, content in _ROWS[head.chain](session, head.count):
        seq += 1
        problem = _check_row(head.chain, row, content, seq, prev)
        if problem is not None:
            return problem
        prev = row.hash
        progress(head.chain, 1)
    if (seq, prev) != (head.count, head.head):
        return BrokenLink(
            "audit_chain_heads",
            head.chain,
            f"the head names {head.count} rows, the chain has {seq}: its newest rows were "
            "removed (or the head was changed)",
            head.head,
            prev,
        )
    return None


async def _verify_balances(session: AsyncSession) -> BrokenLink | None:
    sums = (
        select(CreditPosting.account_id, func.sum(CreditPosting.amount_minutes).label("total"))
        .group_by(CreditPosting.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(CreditAccount.id, CreditAccount.balance_minutes, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == CreditAccount.id)
        .order_by(CreditAccount.id)
    )
    for account_id, balance, total in rows:
        if balance != total:
            return BrokenLink(
                "credit_accounts",
                str(account_id),
                "the balance is not the sum of the account's postings",
                str(total),
                str(balance),
            )
    return None


async def _verify_checkpoint(session: AsyncSession, point: Checkpoint) -> BrokenLink | None:
    model = AuditLog if point.chain == AUDIT_CHAIN else CreditTransaction
    row = await session.scalar(select(model).where(model.seq == point.count))
    if row is None or row.hash != point.head:
        return BrokenLink(
            point.chain,
            str(row.id) if row is not None else "-",
            f"row {point.count} is not what the checkpoint recorded: the chain was rewritten",
            point.head,
            row.hash if row is not None else "missing",
        )
    return None


async def verify(
    session: AsyncSession,
    progress: Progress,
    *,
    heads: list[Checkpoint],
    earlier: Sequence[Checkpoint] = (),
) -> BrokenLink | None:
    """The first broken link of the chains as of `heads` (read first, by the caller), then of
    the balances and of the earlier checkpoints given; None when all hold."""
    for head in heads:
        problem = await _verify_chain(session, head, progress)
        if problem is not None:
            return problem
    problem = await _verify_balances(session)
    for point in earlier:
        problem = problem or await _verify_checkpoint(session, point)
    return problem


async def log_checkpoints_forever(session_factory: Any, interval: float) -> None:
    """The worker's hourly record of every chain's head (the embedded API's, without one)."""
    while True:
        try:
            async with session_factory() as session:
                for point in await checkpoints(session):
                    log.info(
                        "audit checkpoint %s:%d:%s at %s",
                        point.chain,
                        point.count,
                        point.head,
                        point.at.isoformat() if point.at else "-",
                    )
        except Exception:
            log.exception("audit checkpoint failed")
        await asyncio.sleep(interval)


def parse_checkpoint(text: str) -> Checkpoint:
    """`CHAIN:COUNT:HASH`, as the checkpoint log line writes it; ValueError otherwise."""
    chain, count, head = text.split(":")
    if chain not in CHAINS or len(head) != 64 or int(count) < 1:
        raise ValueError(text)
    int(head, 16)
    return Checkpoint(chain, head.lower(), int(count), None)


async def verify_from_cli(
    settings: Any, earlier: Sequence[Checkpoint], console: Any
) -> tuple[list[Checkpoint], BrokenLink | None]:
    """`gotong-gql audit verify`: the chains with a progress bar; (heads, first broken link)."""
    from rich.progress import Progress as Bar

    from gotong_gql.services import Services

    services = Services.create(settings)
    try:
        async with services.session_factory() as session, session.begin():
            heads = await checkpoints(session)
            with Bar(console=console) as bar:
                tasks = {h.chain: bar.add_task(h.chain, total=h.count) for h in heads}
                problem = await verify(
                    session,
                    lambda chain, rows: bar.advance(tasks[chain], rows),
                    heads=heads,
                    earlier=earlier,
                )
    finally:
        await services.close()
    return heads, problem
