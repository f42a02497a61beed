"""Delivering outbox events to the Markov Engine, at least once.

The database, not the broker, keeps the delivery state: a worker claims an event with a lease
(an atomic UPDATE), sends the stored bytes, and records the outcome; attempts are counted only
once an attempt has finished. A worker killed mid-send leaves the event `processing` under an
expiring lease, and the sweeper hands it out again: the receiver may see a duplicate (same
event_id, same bytes), never a loss.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.db import begin_write, utcnow
from gotong_gql.webhook import metrics
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure
from gotong_gql.webhook.outbox import DELIVER_WEBHOOK
from gotong_gql.webhook.signing import gr_signature, standard_signature

if TYPE_CHECKING:
    from gotong_gql.services import Services
    from gotong_gql.settings import Settings

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/v1/platforms/gotong_royong/webhook"
DELIVERED = frozenset({200, 202})
RETRYABLE = frozenset({408, 429})
MAX_RETRY_AFTER_SECONDS = 60.0
JITTER = 0.1
# The slow lane for retryable dead letters: how long after the n-th dead-lettering to try again.
SLOW_LANE = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(days=1),
)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code in DELIVERED

    @property
    def retryable(self) -> bool:
        code = self.status_code
        return code is None or code in RETRYABLE or code >= 500


def backoff_seconds(settings: Settings, attempts: int, retry_after: float | None) -> float:
    """After the n-th failed attempt: base * 2^(n-1) (1, 2, 4, 8 s), or the receiver's Retry-After
    (at most 60 s); plus up to 10% jitter, never less."""
    if retry_after is not None:
        delay = min(retry_after, MAX_RETRY_AFTER_SECONDS)
    else:
        delay = settings.webhook_backoff_base_seconds * 2 ** (attempts - 1)
    return delay * (1 + random.uniform(0, JITTER))  # noqa: S311 (jitter, not secrecy)


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
        except (TypeError, ValueError):
            return None


def headers_for(settings: Settings, event: WebhookEvent, now: int) -> dict[str, str]:
    secret = settings.markov_webhook_secret
    secrets = [secret.get_secret_value()] if secret else []
    if settings.markov_webhook_secret_previous:
        secrets.append(settings.markov_webhook_secret_previous.get_secret_value())
    headers = {
        "Content-Type": "application/json",
        "X-Request-ID": event.request_id or event.event_id,
        "webhook-id": event.event_id,
        "webhook-timestamp": str(now),
    }
    if secrets:
        headers["X-GR-Signature"] = gr_signature(secrets[0], event.payload)
        headers["webhook-signature"] = standard_signature(
            secrets, event.event_id, now, event.payload
        )
    return headers


async def _send(services: Services, event: WebhookEvent) -> Outcome:
    settings = services.settings
    url = settings.markov_base_url.rstrip("/") + WEBHOOK_PATH
    started = time.perf_counter()
    try:
        response = await services.http.post(
            url,
            content=event.payload,
            headers=headers_for(settings, event, int(time.time())),
            timeout=settings.webhook_timeout_seconds,
        )
    except httpx.TimeoutException:
        return Outcome(None, f"timeout after {settings.webhook_timeout_seconds:g} s")
    except httpx.HTTPError as exc:
        return Outcome(None, f"connection error: {type(exc).__name__}: {exc}"[:2000])
    finally:
        metrics.DELIVERY_SECONDS.observe(time.perf_counter() - started)
    error = None if response.status_code in DELIVERED else response.text[:500]
    return Outcome(response.status_code, error, _retry_after(response))


async def _claim(services: Services, event_id: str) -> WebhookEvent | None:
    """Take the event for one attempt, if it is due and nobody holds it. The returned row's
    `lease_until` identifies this claim."""
    now = utcnow()
    lease = now + timedelta(seconds=services.settings.webhook_lease_seconds)
    async with services.session_factory() as session:
        result = await session.execute(
            update(WebhookEvent)
            .where(
                WebhookEvent.event_id == event_id,
                or_(
                    and_(
                        WebhookEvent.status == "pending",
                        or_(
                            WebhookEvent.next_attempt_at.is_(None),
                            WebhookEvent.next_attempt_at <= now,
                        ),
                    ),
                    and_(WebhookEvent.status == "processing", WebhookEvent.lease_until < now),
                ),
            )
            .values(status="processing", lease_until=lease)
            .returning(WebhookEvent)
        )
        claimed = result.scalar_one_or_none()
        await session.commit()
        return claimed


async def _not_yet_due(services: Services, event_id: str) -> float | None:
    """Seconds until a pending event is due, when a job arrived early."""
    async with services.session_factory() as session:
        event = await session.scalar(
            select(WebhookEvent).where(
                WebhookEvent.event_id == event_id, WebhookEvent.status == "pending"
            )
        )
    if event is None or event.next_attempt_at is None:
        return None
    remaining = (event.next_attempt_at - utcnow()).total_seconds()
    return remaining if remaining > 0 else None


async def deliver_webhook(services: Services, event_id: str) -> None:
    """The job: one attempt at delivering one event, then the next step is scheduled."""
    if not services.settings.markov_base_url:
        return  # kept in the outbox until a Markov URL is configured
    event = await _claim(services, event_id)
    if event is None:
        remaining = await _not_yet_due(services, event_id)
        if remaining is not None:
            await services.jobs.send(DELIVER_WEBHOOK, event_id, delay=remaining)
        return
    outcome = await _send(services, event)
    retry_in = await _record(services, event, outcome)
    if retry_in is not None:
        await services.jobs.send(DELIVER_WEBHOOK, event_id, delay=retry_in)


async def _record(services: Services, event: WebhookEvent, outcome: Outcome) -> float | None:
    """Store the attempt's outcome; returns the delay before the next attempt, if any."""
    settings = services.settings
    now = utcnow()
    retry_in = None
    async with services.session_factory() as session:
        await begin_write(session)  # the lease check and the outcome are one step
        row = await session.get(WebhookEvent, event.id, with_for_update=True)
        if row.status != "processing" or row.lease_until != event.lease_until:
            # This attempt outlived its lease and another worker took the event over: its
            # outcome is that worker's to record (the receiver deduplicates by event_id).
            log.warning("webhook %s: lease lost during the attempt", event.event_id)
            return None
        row.attempts += 1
        row.last_attempt_at = now
        row.last_status_code = outcome.status_code
        row.error = outcome.error
        row.lease_until = None
        if outcome.delivered:
            row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
            metrics.COMMIT_TO_DELIVERY_SECONDS.observe((now - row.created_at).total_seconds())
            outcome_label = "delivered"
        elif outcome.retryable and row.attempts < settings.webhook_max_attempts:
            retry_in = backoff_seconds(settings, row.attempts, outcome.retry_after)
            row.status, row.next_attempt_at = "pending", now + timedelta(seconds=retry_in)
            outcome_label = "retry"
        else:
            await _dead_letter(session, row, retryable=outcome.retryable)
            outcome_label = "dead_letter"
        await session.commit()
    metrics.DELIVERIES.labels(event.event_type, outcome_label).inc()
    log.info(
        "webhook %s attempt %d: %s (status %s)",
        event.event_id,
        row.attempts,
        outcome_label,
        outcome.status_code,
    )
    return retry_in


async def _dead_letter(session: AsyncSession, row: WebhookEvent, *, retryable: bool) -> None:
    earlier = await session.scalar(
        select(func.count())
        .select_from(WebhookFailure)
        .where(WebhookFailure.event_id == row.event_id)
    )
    next_retry_at = None
    if retryable and earlier < len(SLOW_LANE):
        next_retry_at = utcnow() + SLOW_LANE[earlier]
    row.status, row.next_attempt_at = "failed", None
    session.add(
        WebhookFailure(
            event_id=row.event_id,
            event_type=row.event_type,
            payload=row.payload,
            error=row.error,
            status_code=row.last_status_code,
            attempts=row.attempts,
            retryable=retryable,
            slow_round=earlier,
            next_retry_at=next_retry_at,
        )
    )
    metrics.DEAD_LETTERS.labels(row.event_type).inc()
