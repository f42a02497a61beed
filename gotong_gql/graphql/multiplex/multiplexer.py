"""The groups of one process (one per Services: `services.multiplexer`).

A group is keyed by the SHA-256 of the document, the operation's name, the variables (as
canonical JSON) and the feed's key (a viewer's id for per-viewer feeds, such as
`creditAccountUpdated` or `taskEvents(filter: {assignedToMe: true})`). The visibility class is
not part of the key: it is the viewer's relation to the event's rows (the task's creator today,
someone else after `taskAssign`), so the group sorts its members into classes at every event
(group.py, scope.py). The reader (`GroupReader`, reader.py) is the multiplexer's: pass another
one to the constructor, or set `multiplexer.reader` before the first subscription.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Collection
from typing import Any

from gotong_gql import metrics
from gotong_gql.graphql.multiplex.connection import Connection
from gotong_gql.graphql.multiplex.feed import Feed
from gotong_gql.graphql.multiplex.group import Group, Member
from gotong_gql.graphql.multiplex.reader import GroupReader, Plan
from gotong_gql.graphql.multiplex.scope import EventScope
from gotong_gql.graphql.subscriptions import VIEWER_ROLES
from gotong_gql.pubsub import Message
from gotong_gql.user.service import load_roles_of_users

STARTS_PER_TURN = 8


class Turns:
    """At most `per_turn` operations start in one turn of the event loop; the others wait for
    the next turns, in order. A burst of subscribes (a reconnect storm) would otherwise run in one
    turn, each to its end (there is no I/O on the way), and hold up everything else, pings
    included, for seconds."""

    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn
        self._left = per_turn
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._ticking = False

    async def wait(self) -> None:
        if self._left > 0 and not self._waiting:
            self._left -= 1
            self._tick()
            return
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._tick()
        await future

    def _tick(self) -> None:
        if not self._ticking:
            self._ticking = True
            asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        """Once per turn while there is demand: a new budget, spent on the longest waiting."""
        self._ticking = False
        self._left = self.per_turn
        while self._left > 0 and self._waiting:
            future = self._waiting.popleft()
            if not future.done():  # not cancelled meanwhile
                future.set_result(None)
                self._left -= 1
        if self._waiting or self._left < self.per_turn:
            self._tick()


class Multiplexer:
    def __init__(self, services: Any, reader: GroupReader | None = None) -> None:
        self.services = services
        self._reader = reader
        self.groups: dict[tuple[Any, ...], Group] = {}
        self._finished: asyncio.Future[None] | None = None
        # How many graphql-transport-ws operations may start in one turn of the event loop.
        self.turns = Turns(STARTS_PER_TURN)

    @property
    def reader(self) -> GroupReader:
        if self._reader is None:
            # Here, not at import: the schema imports every resolver, and they import feed.py.
            from gotong_gql.graphql.multiplex.reader import ExecutorReader
            from gotong_gql.graphql.schema import schema

            if self.services.settings.graphql_compiled_reads:
                from gotong_gql.compiler.subscriptions import CompiledReader

                self._reader = CompiledReader(schema, self.services)
            else:
                self._reader = ExecutorReader(schema)
        return self._reader

    @reader.setter
    def reader(self, reader: GroupReader) -> None:
        self._reader = reader

    def finished(self) -> asyncio.Future[None]:
        """A done future of this loop: what a joined operation keeps in place of its task."""
        if self._finished is None:
            self._finished = asyncio.get_running_loop().create_future()
            self._finished.set_result(None)
        return self._finished

    async def join(
        self, plan: Plan, feed: Feed, connection: Connection, operation_id: str
    ) -> Member:
        key = (*plan.key, feed.key)
        while True:
            group = self.groups.get(key)
            if group is None:
                group = Group(self, key, plan, feed)
                self.groups[key] = group
                metrics.SUBSCRIPTION_GROUPS.inc()
                group.start()
            try:
                await asyncio.shield(group.ready)
            except BaseException:
                if not group.members:
                    self.drop(group)
                raise
            if group.dropped:  # emptied while this member waited for it: another one
                continue
            member = Member(group, connection, operation_id)
            group.add(member)
            connection.members[operation_id] = member
            return member

    def drop(self, group: Group) -> None:
        if group.dropped:
            return
        if self.groups.get(group.key) is group:
            del self.groups[group.key]
        metrics.SUBSCRIPTION_GROUPS.dec()
        group.stop()

    async def viewers(
        self, scope: EventScope, message: Message, user_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, frozenset[str] | None]:
        """The roles of these users now (None: the account is gone), read once per event for the
        whole process: kept on the message, which every subscriber of this process shares
        (graphql/subscriptions.py keeps its per-subscriber answers there too)."""
        known: dict[uuid.UUID, frozenset[str] | None] = message.setdefault(VIEWER_ROLES, {})
        missing = [user_id for user_id in user_ids if user_id not in known]
        if missing:
            async with scope.db() as session:
                found = await load_roles_of_users(session, missing)
            for user_id in missing:
                known[user_id] = found.get(user_id)
        return known

    async def close(self) -> None:
        for group in list(self.groups.values()):
            self.drop(group)
