"""The message stream under every subscription, with the access token's lifetime enforced.

Decision: a subscription lives as long as the access token it was opened with. When the token
expires, each open subscription ends with an `UNAUTHENTICATED` error (reason `TOKEN_EXPIRED`);
the client reconnects with a fresh token (from tokenRefresh) in `connection_init` and subscribes
again. Events in between are not replayed: clients re-read the task when they resubscribe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from gotong_gql import metrics
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import ApiError
from gotong_gql.pubsub import Message


async def messages(context: Context, *channels: str) -> AsyncIterator[Message]:
    expires_at = context.token_expires_at()
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
                yield message
                # The event has been resolved and sent: release what it used.
                await context.refresh()
        finally:
            metrics.SUBSCRIPTIONS_OPEN.dec()
