"""The unit of work: one transaction per mutation or job; side effects only after commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.pubsub import InProcessPubSub, Message

log = logging.getLogger(__name__)


@dataclass
class UnitOfWork:
    session: AsyncSession
    actor_id: uuid.UUID | None
    request_id: str | None
    events: list[tuple[str, Message]] = field(default_factory=list)

    def publish_after_commit(self, channel: str, message: Message) -> None:
        self.events.append((channel, message))


@asynccontextmanager
async def unit_of_work(
    session: AsyncSession,
    pubsub: InProcessPubSub,
    *,
    actor_id: uuid.UUID | None,
    request_id: str | None,
) -> AsyncIterator[UnitOfWork]:
    """Commit when the block ends normally; roll back (and publish nothing) when it raises."""
    uow = UnitOfWork(session=session, actor_id=actor_id, request_id=request_id)
    try:
        yield uow
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    for channel, message in uow.events:
        try:
            await pubsub.publish(channel, message)
        except Exception:
            # The change is committed; a lost live update must not turn it into an error.
            log.exception("publishing to %s failed after commit", channel)
