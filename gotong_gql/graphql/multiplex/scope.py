"""One event of one group: its database session, its DataLoaders, and the contexts its reads run
in: as a visibility class (its probe, probe.py) or as one member."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import FrozenResult, Result, Select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.graphql.context import Actor, Context, Viewer
from gotong_gql.graphql.loaders import Loaders
from gotong_gql.graphql.multiplex.probe import ProbeId, ProbeUser, Witness
from gotong_gql.reputation.service import Reputation
from gotong_gql.services import Services


class ReadOnceSession:
    """The event's session, answering a SELECT it has already run (the same statement with the
    same values) from the rows it got then: the reads of one event (one per class, one per member
    singled out) all ask for the task's evidence, and the database answers once. Read-only, and
    within one transaction: the reads see one state of the rows, as one read would."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._results: dict[Any, FrozenResult[Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def execute(self, statement: Any, params: Any = None, **options: Any) -> Result[Any]:
        key = None if params or options else _statement_key(statement)
        if key is None:
            return await self._session.execute(statement, params, **options)
        frozen = self._results.get(key)
        if frozen is None:
            frozen = (await self._session.execute(statement)).freeze()
            self._results[key] = frozen
        return frozen()

    async def scalars(self, statement: Any, params: Any = None, **options: Any) -> Any:
        return (await self.execute(statement, params, **options)).scalars()

    async def scalar(self, statement: Any, params: Any = None, **options: Any) -> Any:
        return (await self.execute(statement, params, **options)).scalar()


def _statement_key(statement: Any) -> Any:
    if not isinstance(statement, Select):
        return None
    cache_key = statement._generate_cache_key()  # SQLAlchemy's own statement cache key
    if cache_key is None:
        return None
    try:
        values = tuple(_frozen(bind.effective_value) for bind in cache_key.bindparams)
        hash(values)
    except TypeError:
        return None
    return cache_key.key, values


def _frozen(value: Any) -> Any:
    return tuple(_frozen(item) for item in value) if isinstance(value, list | tuple) else value


class EventScope:
    """One session (one transaction) and one set of DataLoaders for every read of an event in a
    group: the loaders are keyed by rows, never by viewer, so class reads and own reads share
    what they load."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._session: AsyncSession | None = None
        self._reads: ReadOnceSession | None = None
        self._lock = asyncio.Lock()
        # What a reader keeps for the other reads of this event (compiler/subscriptions.py).
        self.memo: dict[Any, Any] = {}
        self.loaders = Loaders(self.db, services)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            if self._session is None:
                self._session = self.services.session_factory()
                self._reads = ReadOnceSession(self._session)
            yield self._reads  # type: ignore[misc]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> EventScope:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def context(
        self, base: Context, roles: frozenset[str], user_id: uuid.UUID | None
    ) -> ReadContext:
        """The context of one read: as the viewer `user_id`, or (None) as the class's probe.
        `base` is a member's connection context (request, request id)."""
        return ReadContext(self, base, roles, user_id)


class ReadContext(Context):
    """A Context whose viewer is given (not loaded from a token) and whose session and loaders are
    the event's."""

    def __init__(
        self, scope: EventScope, base: Context, roles: frozenset[str], user_id: uuid.UUID | None
    ) -> None:
        super().__init__(
            services=scope.services,
            request=base.request,
            response=None,
            request_id=base.request_id,
            token=None,
        )
        self.scope = scope
        self.loaders = scope.loaders
        self.witness = Witness() if user_id is None else None
        self.roles = roles
        if self.witness is not None:
            probe = ProbeId(self.witness)
            self.viewer_id: uuid.UUID = probe
            self._viewer = Viewer(ProbeUser(probe, self.witness), roles)  # type: ignore[arg-type]
            self._viewer_loaded = True
        else:
            assert user_id is not None
            self.viewer_id = user_id

    def singled_out(self) -> frozenset[uuid.UUID] | None:
        """The ids this read's rules compared the viewer with; None when the read used the
        viewer in a way those do not capture. A member's own read singles nobody out."""
        if self.witness is None:
            return frozenset()
        return None if self.witness.opaque else frozenset(self.witness.compared)

    def db(self):  # type: ignore[override]
        return self.scope.db()

    async def refresh(self) -> None:
        return None

    async def close(self) -> None:
        return None

    @property
    def user_id(self) -> uuid.UUID | None:  # type: ignore[override]
        return self.viewer_id

    def require_user_id(self) -> uuid.UUID:
        return self.viewer_id

    async def _load_viewer(self) -> Viewer | None:
        user = await self.loaders.users_by_id.load(self.viewer_id)
        return Viewer(user, self.roles) if user is not None else None

    async def actor(self) -> Actor | None:
        return Actor(self.viewer_id, self.roles)

    async def actor_reputation(self) -> Reputation | None:
        if self.witness is not None:
            self.witness.opaque = True  # the viewer's own reputation: not the class's
            return None
        return await super().actor_reputation()
