"""A group: this process's subscribers to one operation, fed by one pub/sub subscription.

Per event, in the group's own task (so each member receives its events in order):

1. the viewers again, for all members at once (Multiplexer.viewers: one statement for the users
   no other group has asked about for this message): a deleted account ends its subscriptions
   with UNAUTHENTICATED; a token past its expiry ends them with TOKEN_EXPIRED; roles are as they
   are now, so a revoked role counts from this event on, for that member only;
2. the source event (`Feed.source`), once for the group, and `Source.admits` per member;
3. the members by visibility class (their roles now): one read per class (the reader, as the
   class's probe), then one own read per member the class read singled out (see scope.py),
   shared by the member's subscriptions to the same operation;
4. the payload text goes to each member's connection with the member's prefix
   (`{"id":"<id>","type":"next","payload":`): the same serialised bytes for every member of a
   class, never waiting for a socket.

All reads of one event share one database session (one transaction) and its DataLoaders.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gotong_gql import metrics
from gotong_gql.graphql.errors import ApiError
from gotong_gql.graphql.multiplex.connection import Connection, account_gone
from gotong_gql.graphql.multiplex.feed import Feed
from gotong_gql.graphql.multiplex.reader import Plan, ReadViewer, compact_json
from gotong_gql.graphql.multiplex.scope import EventScope
from gotong_gql.pubsub import Message

if TYPE_CHECKING:
    from gotong_gql.graphql.multiplex.multiplexer import Multiplexer

log = logging.getLogger(__name__)


class Member:
    """One subscription: an entry in its group, not a generator."""

    __slots__ = ("connection", "group", "id", "prefix")

    def __init__(self, group: Group, connection: Connection, operation_id: str) -> None:
        self.group, self.connection, self.id = group, connection, operation_id
        self.prefix = '{"id":' + compact_json(operation_id) + ',"type":"next","payload":'


class Group:
    def __init__(self, multiplexer: Multiplexer, key: tuple[Any, ...], plan: Plan, feed: Feed):
        self.multiplexer = multiplexer
        self.key = key
        self.plan = plan
        self.feed = feed
        self.prepared = multiplexer.reader.prepare(plan)
        self.members: dict[Member, None] = {}
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.dropped = False
        self._busy = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def add(self, member: Member) -> None:
        self.members[member] = None
        metrics.SUBSCRIPTION_MEMBERS.inc()
        metrics.SUBSCRIPTIONS_OPEN.inc()

    def remove(self, member: Member) -> None:
        if member not in self.members:
            return
        del self.members[member]
        metrics.SUBSCRIPTION_MEMBERS.dec()
        metrics.SUBSCRIPTIONS_OPEN.dec()
        if not self.members:
            self.multiplexer.drop(self)

    def stop(self) -> None:
        """No member left: the pub/sub subscription ends (after the event at hand, if any)."""
        self.dropped = True
        if self._task is not None and not self._busy:
            self._task.cancel()

    async def _run(self) -> None:
        try:
            async with self.multiplexer.services.pubsub.subscribe(*self.feed.channels) as queue:
                self.ready.set_result(None)
                while not self.dropped:
                    message = await queue.get()
                    self._busy = True
                    try:
                        await self._event(message)
                    except Exception:
                        log.exception(
                            "a subscription event failed (channels %s)", self.feed.channels
                        )
                    finally:
                        self._busy = False
        except asyncio.CancelledError:
            if not self.ready.done():
                self.ready.cancel()
            raise
        except Exception as error:
            log.exception("a subscription group ended (channels %s)", self.feed.channels)
            if not self.ready.done():
                self.ready.set_exception(error)
            failure = ApiError("INTERNAL", "the subscription's event source failed")
            for member in list(self.members):
                member.connection.end(member, failure)
            self.multiplexer.drop(self)

    async def _event(self, message: Message) -> None:
        started = time.perf_counter()
        members = list(self.members)
        if not members:
            return
        metrics.SUBSCRIPTION_EVENTS.inc()
        now = datetime.now(UTC)
        by_user: dict[uuid.UUID, list[Member]] = {}
        for member in members:
            connection = member.connection
            if connection.expired(now):
                connection.expire()
            elif connection.user_id is not None:
                by_user.setdefault(connection.user_id, []).append(member)
        async with EventScope(self.multiplexer.services) as scope:
            roles = await self.multiplexer.viewers(scope, message, by_user)
            for user_id in [user_id for user_id in by_user if roles.get(user_id) is None]:
                for member in by_user.pop(user_id):
                    member.connection.end(member, account_gone())
            if not by_user:
                return
            async with scope.db() as session:
                source = await self.feed.source(session, message)
            if source is None:
                return
            classes: dict[frozenset[str], list[tuple[uuid.UUID, list[Member]]]] = {}
            for user_id, of_user in by_user.items():
                user_roles = roles[user_id]
                assert user_roles is not None
                if source.admits is None or source.admits(user_id, user_roles):
                    classes.setdefault(user_roles, []).append((user_id, of_user))
            own: list[tuple[frozenset[str], uuid.UUID, list[Member]]] = []
            for class_roles, users in classes.items():
                if len(users) == 1:  # one user in the class: read as themselves
                    own.append((class_roles, *users[0]))
                else:
                    own += await self._read_class(scope, class_roles, users, source.root)
            if own:
                # The rows of these viewers (a resolver may want them) in one statement.
                await scope.loaders.users_by_id.load_many([user_id for _, user_id, _ in own])
                for class_roles, user_id, of_user in own:
                    viewer = ReadViewer(class_roles, user_id, of_user[0].connection.context)
                    reading = await self.multiplexer.reader.read(
                        self.prepared, viewer, source.root, scope
                    )
                    self._send(of_user, reading.payload)
            # Queued for every member (the writers send while the session closes).
            metrics.SUBSCRIPTION_FANOUT_SECONDS.observe(time.perf_counter() - started)

    async def _read_class(
        self,
        scope: EventScope,
        roles: frozenset[str],
        users: list[tuple[uuid.UUID, list[Member]]],
        root: Any,
    ) -> list[tuple[frozenset[str], uuid.UUID, list[Member]]]:
        """The class's payload to every member it applies to; the users it singled out."""
        base = users[0][1][0].connection.context
        viewer = ReadViewer(roles, None, base)
        reading = await self.multiplexer.reader.read(self.prepared, viewer, root, scope)
        singled_out = reading.singled_out
        own = []
        for user_id, of_user in users:
            if singled_out is not None and user_id not in singled_out:
                self._send(of_user, reading.payload)
            else:
                own.append((roles, user_id, of_user))
        return own

    def _send(self, members: list[Member], payload: str) -> None:
        for member in members:
            if member in self.members:  # not gone while the reads ran
                member.connection.send_next(member.prefix, payload)
