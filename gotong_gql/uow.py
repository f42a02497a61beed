"""The unit of work: one transaction per mutation or job; side effects only after commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.chain import Link, seal
from gotong_gql.db import begin_write
from gotong_gql.pubsub import Message

if TYPE_CHECKING:
    from gotong_gql.services import Services

log = logging.getLogger(__name__)


@dataclass
class UnitOfWork:
    session: AsyncSession
    actor_id: uuid.UUID | None
    request_id: str
    events: list[tuple[str, Message]] = field(default_factory=list)
    jobs: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def publish_after_commit(self, channel: str, message: Message) -> None:
        self.events.append((channel, message))

    def enqueue_after_commit(self, job: str, *args: str) -> None:
        self.jobs.append((job, args))

    def append_to_chain(self, link: Link) -> None:
        """An audit entry or credit transaction, written (hashed, in its chain) at commit."""
        self.links.append(link)


@asynccontextmanager
async def unit_of_work(
    session: AsyncSession,
    services: Services,
    *,
    actor_id: uuid.UUID | None,
    request_id: str,
) -> AsyncIterator[UnitOfWork]:
    """Commit when the block ends normally; roll back (sending nothing) when it raises.

    Invariant: whatever the block checks and then writes is one atomic step, on both engines.
    The block is one transaction that `begin_write` opens before its first read (ending a read
    transaction the session had open): on SQLite it holds the database's write lock from that
    first read to the commit, so no other writer runs in between (a waiting writer gets the
    lock after our commit and reads what we wrote). On PostgreSQL rows the block checks are
    locked `FOR UPDATE`, and state transitions are compare-and-set `UPDATE ... WHERE status`.
    Hence two rules for the code inside a block: no slow work (password hashing, network
    calls: do them before opening it), and no writes through another session (on SQLite it
    would wait for the lock this block holds).

    Just before the commit, the rows buffered for the hash chains (audit entries, credit
    transactions) are sealed: numbered, hashed and written under their chain's head lock, the
    last lock the block takes (audit/chain.py).

    After the commit, buffered jobs are sent and events published. A failure there is logged and
    never undoes the commit: the outbox sweeper re-sends what a lost enqueue left pending.
    """
    uow = UnitOfWork(session=session, actor_id=actor_id, request_id=request_id)
    try:
        await begin_write(session)
        yield uow
        await seal(session, uow.links)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    for job, args in uow.jobs:
        try:
            await services.jobs.send(job, *args)
        except Exception:
            log.warning("could not enqueue %s%r; the sweeper will retry", job, args, exc_info=True)
    for channel, message in uow.events:
        try:
            await services.pubsub.publish(channel, message)
        except Exception:
            log.exception("publishing to %s failed after commit", channel)
