"""The typed per-request Context: one session, the viewer (from the token), fresh DataLoaders."""

from __future__ import annotations

import asyncio
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
from gotong_gql.reputation.service import Reputation
from gotong_gql.security import TokenClaims, TokenError, expired
from gotong_gql.services import Services
from gotong_gql.uow import UnitOfWork, unit_of_work
from gotong_gql.user.models import User
from gotong_gql.user.service import load_user_with_roles


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
    # Sessions whose statement was cancelled in flight: closed with the request (see `db`).
    _abandoned: list[AsyncSession] = field(default_factory=list)
    _viewer: Viewer | None = None
    _viewer_loaded: bool = False
    _closed: bool = False
    _claims: tuple[str, TokenClaims | tuple[str, str]] | None = None
    loaders: Loaders = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _viewer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _actor: asyncio.Future[Actor | None] | None = None
    _actor_reputation: asyncio.Future[Reputation | None] | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.services)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The request's session, one user at a time: resolvers run concurrently, and an
        AsyncSession (one connection) must not.

        Work that outlives the response gets a session of its own, closed at once: when a
        non-null root field fails, graphql-core answers at once and cancels the sibling
        resolvers, but a DataLoader batch already sent runs on in its own task (see `close`)."""
        async with self._lock:
            if self._closed:
                async with self.services.session_factory() as session:
                    yield session
                return
            if self._session is None:
                self._session = self.services.session_factory()
            session = self._session
            try:
                yield session
            except asyncio.CancelledError:
                # Cancelled in the middle of a statement (a sibling field's error), the
                # connection is invalidated: every later statement on this session would fail
                # (PendingRollbackError). The fields after it get a new session.
                if self._session is session:
                    self._session = None
                    self._abandoned.append(session)
                raise

    async def refresh(self) -> None:
        """Between two events of a subscription: fresh DataLoaders (no stale rows from an earlier
        event) and the session's connection back to the pool while the subscription waits."""
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None
            await self._close_abandoned()
        self.loaders = Loaders(self.db, self.services)
        self._actor = self._actor_reputation = None

    async def close(self) -> None:
        """The end of the request: its session goes back to the pool. Under the lock, so that a
        statement still running on it (a DataLoader batch that a sibling field's error left
        behind) finishes first: closing the session under it broke the connection and turned
        the whole answer into an error."""
        async with self._lock:
            self._closed = True
            if self._session is not None:
                session, self._session = self._session, None
                await session.close()
            await self._close_abandoned()

    async def _close_abandoned(self) -> None:
        while self._abandoned:
            await self._abandoned.pop().close()

    def _access_claims(self) -> TokenClaims:
        """The access token's claims. Its signature, issuer, audience and type are checked once
        per token (every field asks); its expiry at every call, as a WebSocket's context
        outlives its token."""
        assert self.token
        if self._claims is None or self._claims[0] != self.token:
            try:
                found: TokenClaims | tuple[str, str] = self.services.tokens.decode(
                    self.token, "access"
                )
            except TokenError as exc:
                found = (exc.code, str(exc))
            self._claims = (self.token, found)
        found = self._claims[1]
        if isinstance(found, tuple):
            raise TokenError(*found)  # type: ignore[arg-type]
        if expired(found):
            raise TokenError("TOKEN_EXPIRED", "token has expired")
        return found

    @property
    def user_id(self) -> uuid.UUID | None:
        """The signed-in user's id from the access token alone (no database query)."""
        if not self.token:
            return None
        try:
            return self._access_claims().user_id
        except TokenError:
            return None

    def token_expires_at(self) -> datetime:
        """When the access token of this request (or WebSocket connection) expires."""
        if not self.token:
            raise unauthenticated()
        try:
            return self._access_claims().expires_at
        except TokenError as exc:
            raise ApiError("UNAUTHENTICATED", str(exc), reason=exc.code) from None

    def require_user_id(self) -> uuid.UUID:
        if not self.token:
            raise unauthenticated()
        try:
            return self._access_claims().user_id
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
        return await self.loaders.reputations_by_user.load((user.id, user.markov_user_id))

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
            self.loaders = Loaders(self.db, self.services)
            self._viewer, self._viewer_loaded = None, False
            if isinstance(exc, DBAPIError) and is_lock_timeout(exc):
                raise ApiError(
                    "SERVICE_UNAVAILABLE", "the database is busy: try again", retryAfter=1
                ) from exc
            raise
        # Committed. The loaders' rows are snapshots of before (gotong_gql/rows.py): the
        # payload's fields load afresh. The viewer, an instance the unit of work kept up to
        # date, stays.
        self.loaders = Loaders(self.db, self.services)
        if self._viewer is not None:
            self.loaders.users_by_id.prime(self._viewer.id, self._viewer.user)
            self.loaders.roles_by_user_id.prime(self._viewer.id, self._viewer.roles)
