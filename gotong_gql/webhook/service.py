"""Operating the outbox: the sweeper, replays of dead letters, and the admin listings."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record
from gotong_gql.db import begin_write, utcnow
from gotong_gql.errors import DomainError
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.uow import UnitOfWork
from gotong_gql.webhook.codes import WebhookErrorCode
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure
from gotong_gql.webhook.outbox import DELIVER_WEBHOOK

if TYPE_CHECKING:
    from gotong_gql.services import Services

log = logging.getLogger(__name__)
SWEEP_BATCH = 1000


async def sweep(services: Services) -> int:
    """Re-send what a lost enqueue or a dead worker left behind, and the slow lane's due events.

    An overdue pending event (its job lost) gets `next_attempt_at` bumped to now, so that one
    sweep re-sends it once per grace period, not on every pass. A `processing` event whose lease
    expired was held by a worker that died. Returns how many jobs were sent.
    """
    settings = services.settings
    if not settings.markov_base_url:
        return 0
    now = utcnow()
    overdue = now - timedelta(seconds=settings.webhook_pending_grace_seconds)
    async with services.session_factory() as session:
        await begin_write(session)  # it reads, then writes what it read
        stranded = list(
            await session.scalars(
                select(WebhookEvent.event_id)
                .where(
                    or_(
                        and_(
                            WebhookEvent.status == "pending",
                            WebhookEvent.next_attempt_at <= overdue,
                        ),
                        and_(WebhookEvent.status == "processing", WebhookEvent.lease_until < now),
                    )
                )
                .limit(SWEEP_BATCH)
            )
        )
        if stranded:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.event_id.in_(stranded), WebhookEvent.status == "pending")
                .values(next_attempt_at=now)
            )
        slow = list(
            await session.scalars(
                select(WebhookFailure)
                .where(
                    WebhookFailure.retryable.is_(True),
                    WebhookFailure.replayed_at.is_(None),
                    WebhookFailure.next_retry_at <= now,
                )
                .limit(SWEEP_BATCH)
            )
        )
        for failure in slow:
            await _reopen(session, failure.event_id, reset_attempts=False)
        await session.commit()
    event_ids = stranded + [failure.event_id for failure in slow]
    for event_id in event_ids:
        await services.jobs.send(DELIVER_WEBHOOK, event_id)
    if event_ids:
        log.info("sweeper re-sent %d events (%d from the slow lane)", len(event_ids), len(slow))
    return len(event_ids)


async def sweep_forever(services: Services) -> None:
    """The periodic sweeper of a worker (or of the API process in the embedded mode)."""
    while True:
        try:
            await sweep(services)
        except Exception:
            log.exception("webhook sweep failed")
        await asyncio.sleep(services.settings.webhook_sweep_interval_seconds)


async def _reopen(session: AsyncSession, event_id: str, *, reset_attempts: bool) -> WebhookEvent:
    """A failed event goes back to pending, same event_id and bytes; its dead letters close."""
    now = utcnow()
    event = await session.scalar(
        select(WebhookEvent).where(WebhookEvent.event_id == event_id).with_for_update()
    )
    if event is None:
        raise DomainError(WebhookErrorCode.NOT_FOUND, "no event has this id", "eventId")
    if event.status != "failed":
        raise DomainError(
            WebhookErrorCode.NOT_FAILED,
            f"the event is {event.status.upper()}, not FAILED",
            "eventId",
        )
    await session.execute(
        update(WebhookFailure)
        .where(WebhookFailure.event_id == event_id, WebhookFailure.replayed_at.is_(None))
        .values(replayed_at=now)
    )
    event.status, event.next_attempt_at, event.lease_until = "pending", now, None
    if reset_attempts:
        event.attempts = 0
    return event


async def replay(uow: UnitOfWork, event_id: str) -> WebhookEvent:
    """An admin's replay: a fresh round of attempts for a dead letter, sent after the commit."""
    event = await _reopen(uow.session, event_id, reset_attempts=True)
    record(uow, "webhook.replay", "webhook_event", event.id, after={"event_id": event_id})
    uow.enqueue_after_commit(DELIVER_WEBHOOK, event_id)
    return event


async def failed_event_ids(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(WebhookEvent.event_id)
            .where(WebhookEvent.status == "failed")
            .order_by(WebhookEvent.created_at)
        )
    )


# Newest first; the id breaks ties in ascending order, as these lists always did.
EVENT_ORDER = Order(
    "WebhookEvent",
    "CREATED_AT_DESC",
    (Key(WebhookEvent.created_at, "timestamp", True), Key(WebhookEvent.id, "uuid")),
)
FAILURE_ORDER = Order(
    "WebhookFailure",
    "CREATED_AT_DESC",
    (Key(WebhookFailure.created_at, "timestamp", True), Key(WebhookFailure.id, "uuid")),
)


def event_listing(*, status: str | None, event_type: str | None) -> Listing:
    query = select(WebhookEvent)
    if status:
        query = query.where(WebhookEvent.status == status)
    if event_type:
        query = query.where(WebhookEvent.event_type == event_type)
    return Listing(query, EVENT_ORDER)


def failure_listing(include_replayed: bool) -> Listing:
    query = select(WebhookFailure)
    if not include_replayed:
        query = query.where(WebhookFailure.replayed_at.is_(None))
    return Listing(query, FAILURE_ORDER)
