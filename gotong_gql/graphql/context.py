"""The typed per-request Context: one session, the viewer (from the token), fresh DataLoaders."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.websockets import WebSocket

from gotong_gql.db import is_lock_timeout
from gotong_gql.graphql.errors import ApiError, unauthenticated
from gotong_gql.graphql.loaders import Loaders
from gotong_gql.reputation.service import Reputation, reputation_of
from gotong_gql.security import TokenError
from gotong_gql.services import Services
from gotong_gql.uow import UnitOfWork, unit_of_work
from gotong_gql.user.models import User
from gotong_gql.user.service import load_user_with_roles

log = logging.getLogger(__name__)


class Actor(NamedTuple):
    """Who asks, as the rules of `task/rules.py`, `contribution/rules.py` and `vouch/rules.py`
    read them."""

    id: uuid.UUID
    roles: frozenset[str]


@dataclass(frozen=True)
class Viewer:
    user: User
    roles: frozenset[str]

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Any
    request_id: str
    token: str | None = None
    connection_params: dict[str, Any] | None = None
    _session: AsyncSession | None = None
    _viewer: Viewer | None = None
    _viewer_loaded: bool = False
    loaders: Loaders = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _viewer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _actor: asyncio.Future[Actor | None] | None = None
    _actor_reputation: asyncio.Future[Reputation | None] | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The request's session, one user at a time: resolvers run concurrently, and an
        AsyncSession (one connection) must not.

        A field error cancels the resolvers still running beside it (graphql-core 3.3 cancels
        the siblings of a field whose error nulls their parent). Cancelled in the middle of a
        statement, a resolver leaves its connection unusable (asyncpg closes it, aiosqlite's is
        closed): that session is discarded, and the resolvers that run after it, elsewhere in
        the operation, get a new one."""
        async with self._lock:
            if self._session is None:
                self._session = self.services.session_factory()
            session = self._session
            try:
                yield session
            except asyncio.CancelledError:
                if self._session is session:
                    self._session = None
                await asyncio.shield(_discard(session))
                raise

    async def refresh(self) -> None:
        """Between two events of a subscription: fresh DataLoaders (no stale rows from an earlier
        event) and the session's connection back to the pool while the subscription waits."""
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None
        self.loaders = Loaders(self.db)
        self._actor = self._actor_reputation = None

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            try:
                await session.close()
            except DBAPIError:  # its connection was closed under it (see `db`)
                await _discard(session)

    @property
    def user_id(self) -> uuid.UUID | None:
        """The signed-in user's id from the access token alone (no database query)."""
        if not self.token:
            return None
        try:
            return self.services.tokens.decode(self.token, "access").user_id
        except TokenError:
            return None

    def token_expires_at(self) -> datetime:
        """When the access token of this request (or WebSocket connection) expires."""
        if not self.token:
            raise unauthenticated()
        try:
            return self.services.tokens.decode(self.token, "access").expires_at
        except TokenError as exc:
            raise ApiError("UNAUTHENTICATED", str(exc), reason=exc.code) from None

    def require_user_id(self) -> uuid.UUID:
        if not self.token:
            raise unauthenticated()
        try:
            return self.services.tokens.decode(self.token, "access").user_id
        except TokenError as exc:
            raise ApiError("UNAUTHENTICATED", str(exc), reason=exc.code) from None

    async def viewer(self) -> Viewer | None:
        """The signed-in user and roles, loaded once per request and shared: resolvers run
        concurrently, and those arriving while the first one loads wait for its result."""
        if not self._viewer_loaded:
            async with self._viewer_lock:
                if not self._viewer_loaded:
                    self._viewer = await self._load_viewer()
                    self._viewer_loaded = True
        return self._viewer

    async def _load_viewer(self) -> Viewer | None:
        user_id = self.user_id
        if user_id is None:
            return None
        async with self.db() as session:
            loaded = await load_user_with_roles(session, user_id)
        if loaded is None:
            return None
        self.loaders.users_by_id.prime(user_id, loaded[0])
        self.loaders.roles_by_user_id.prime(user_id, loaded[1])
        return Viewer(*loaded)

    def renew_viewer(self, roles: frozenset[str]) -> None:
        """The viewer's roles as they are now (between two events of a subscription)."""
        if self._viewer is not None:
            self._viewer = Viewer(self._viewer.user, roles)

    async def actor(self) -> Actor | None:
        """The viewer's id (from the token) and roles, as the permission rules read them. The
        `viewerCan*` fields of a whole page ask at once: they share one read per request (per
        event, in a subscription)."""
        if self._actor is None:
            self._actor = asyncio.ensure_future(self._load_actor())
        return await self._actor

    async def _load_actor(self) -> Actor | None:
        user_id = self.user_id
        if user_id is None:
            return None
        return Actor(user_id, await self.loaders.roles_by_user_id.load(user_id))

    async def actor_reputation(self) -> Reputation | None:
        """The viewer's reputation as cached from Markov, shared like `actor()`."""
        if self._actor_reputation is None:
            self._actor_reputation = asyncio.ensure_future(self._load_reputation())
        return await self._actor_reputation

    async def _load_reputation(self) -> Reputation | None:
        user_id = self.user_id
        user = await self.loaders.users_by_id.load(user_id) if user_id else None
        if user is None:
            return None
        return await reputation_of(self.services, user.id, user.markov_user_id)

    async def require_viewer(self) -> Viewer:
        self.require_user_id()
        viewer = await self.viewer()
        if viewer is None:
            raise unauthenticated("the account of this token no longer exists")
        return viewer

    @asynccontextmanager
    async def unit_of_work(self, viewer: Viewer | None) -> AsyncIterator[UnitOfWork]:
        """The request's unit of work (see `gotong_gql.uow`). A database that gives up waiting
        for a lock (SQLite's busy timeout, a PostgreSQL deadlock) rolled everything back: the
        client is told to try again, not shown an internal error."""
        try:
            async with (
                self.db() as session,
                unit_of_work(
                    session,
                    self.services,
                    actor_id=viewer.id if viewer else None,
                    request_id=self.request_id,
                ) as uow,
            ):
                yield uow
        except BaseException as exc:
            # A rollback expires every loaded row: later fields of this request load afresh.
            self.loaders = Loaders(self.db)
            self._viewer, self._viewer_loaded = None, False
            if isinstance(exc, DBAPIError) and is_lock_timeout(exc):
                raise ApiError(
                    "SERVICE_UNAVAILABLE", "the database is busy: try again", retryAfter=1
                ) from exc
            raise


async def _discard(session: AsyncSession) -> None:
    """Drop a session whose connection a cancelled statement left unusable: the connection is
    closed and leaves the pool, and nothing is rolled back on it (nothing can be)."""
    try:
        await session.invalidate()
    except DBAPIError:
        log.debug("a broken session could not be invalidated", exc_info=True)
