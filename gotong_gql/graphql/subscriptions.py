"""The message stream under every subscription, with the access token's lifetime enforced.

Decision: a subscription lives as long as the access token it was opened with. When the token
expires, each open subscription ends with an `UNAUTHENTICATED` error (reason `TOKEN_EXPIRED`);
the client reconnects with a fresh token (from tokenRefresh) in `connection_init` and subscribes
again. Events in between are not replayed: clients re-read the task when they resubscribe.

The token says who the viewer was; every event is resolved for the viewer as they are now: their
roles are read again for each event (once per event and viewer in this process, shared by their
subscriptions), so a revoked role stops showing what it allowed from the next event on, and a
deleted account ends its subscriptions with `UNAUTHENTICATED`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from gotong_gql import metrics
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import ApiError
from gotong_gql.pubsub import Message
from gotong_gql.services import Services
from gotong_gql.user.service import load_user_with_roles

VIEWER_ROLES = "_viewer_roles"  # a process-local key of a message, never published


async def current_roles(services: Services, user_id: uuid.UUID) -> frozenset[str] | None:
    """The user's roles now, or None when the account no longer exists."""
    async with services.session_factory() as session:
        loaded = await load_user_with_roles(session, user_id)
    return loaded[1] if loaded is not None else None


async def roles_for_event(
    services: Services, message: Message, user_id: uuid.UUID
) -> frozenset[str] | None:
    """`current_roles` once per event and viewer: every subscriber of this process receives the
    same message object, and the first to ask keeps the answer there for the others."""
    known = message.setdefault(VIEWER_ROLES, {})
    if user_id not in known:
        known[user_id] = await current_roles(services, user_id)
    return known[user_id]


async def messages(context: Context, *channels: str) -> AsyncIterator[Message]:
    expires_at = context.token_expires_at()
    viewer_id = context.require_user_id()
    async with context.services.pubsub.subscribe(*channels) as queue:
        metrics.SUBSCRIPTIONS_OPEN.inc()
        try:
            while True:
                remaining = (expires_at - datetime.now(UTC)).total_seconds()
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=max(remaining, 0))
                except TimeoutError:
                    raise ApiError(
                        "UNAUTHENTICATED", "the access token expired", reason="TOKEN_EXPIRED"
                    ) from None
                roles = await roles_for_event(context.services, message, viewer_id)
                if roles is None:
                    raise ApiError("UNAUTHENTICATED", "the account of this token no longer exists")
                context.renew_viewer(roles)
                yield message
                # The event has been resolved and sent: release what it used.
                await context.refresh()
        finally:
            metrics.SUBSCRIPTIONS_OPEN.dec()
