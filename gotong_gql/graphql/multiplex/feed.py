"""What a subscription field listens to, and how one message becomes the root value of an event.

A subscription resolver checks its arguments and the viewer (its errors reach the client as
before), then describes its events as a `Feed` and offers it to `join`:

    feed = Feed(channels=(f"task:{task_id}",), source=...)
    if await join(info, feed):
        return  # multiplexed: the group of this operation sends the events
    async for event in feed.events(info.context):
        yield event  # today's path: this subscriber's own loop

`feed.source` runs once per event for a whole group (multiplexed) or once per event and
subscriber (today's path). It must not depend on the viewer: what does depends on the viewer goes
in `Source.admits` (checked per member, without the database) or in `Feed.key` (which then makes
the group per viewer).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.graphql.subscriptions import messages
from gotong_gql.pubsub import Message

if TYPE_CHECKING:
    import strawberry

    from gotong_gql.graphql.context import Context


@dataclass(frozen=True, slots=True)
class Source:
    """One event as the selection sees it: `root` is the subscription field's value (graphql-core
    executes the selection with it as root value). `admits(viewer_id, roles)`, when given, says
    which viewers the event reaches (e.g. who may see a contribution's evidence)."""

    root: Any
    admits: Callable[[uuid.UUID, frozenset[str]], bool] | None = None


SourceFunction = Callable[[AsyncSession, Message], Awaitable[Source | None]]


@dataclass(frozen=True, slots=True)
class Feed:
    """The channels of a subscription and the source of its events (None: no event for anyone).

    `key` separates groups whose document and variables are the same but whose events are not:
    the viewer's id when the channels or the source depend on who subscribed."""

    channels: tuple[str, ...]
    source: SourceFunction
    key: Hashable = None

    async def events(self, context: Context) -> AsyncIterator[Any]:
        """This subscriber's own loop (SSE, the legacy graphql-ws protocol, multiplexing off):
        `messages` re-reads the viewer for every event and ends the stream on expiry."""
        async for message in messages(context, *self.channels):
            async with context.services.session_factory() as session:
                source = await self.source(session, message)
            if source is None:
                continue
            if source.admits is not None:
                viewer = await context.require_viewer()
                if not source.admits(viewer.id, viewer.roles):
                    continue
            yield source.root


class Ticket(Protocol):
    """A subscribe message of a multiplexing transport, waiting for its resolver's feed."""

    used: bool

    async def join(self, context: Context, feed: Feed) -> None: ...


# Set by the transport in the task that runs one `subscribe` (graphql/multiplex/transport.py);
# unset everywhere else, so that SSE and the legacy protocol keep their own loops.
JOINING: ContextVar[Ticket | None] = ContextVar("gotong_multiplex_ticket", default=None)


async def join(info: strawberry.Info, feed: Feed) -> bool:
    """Hands the subscription to its group when the transport multiplexes it; False otherwise
    (the resolver then iterates `feed.events`)."""
    ticket = JOINING.get()
    if ticket is None or ticket.used:
        return False
    ticket.used = True
    await ticket.join(info.context, feed)
    return True
