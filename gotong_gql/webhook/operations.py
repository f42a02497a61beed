"""Operator commands on the outbox (`gotong-gql webhooks replay`)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import track

from gotong_gql.errors import DomainError
from gotong_gql.services import Services
from gotong_gql.settings import Settings
from gotong_gql.uow import unit_of_work
from gotong_gql.webhook import service


async def replay_from_cli(
    settings: Settings, event_ids: list[str], *, all_failed: bool, console: Console
) -> tuple[int, list[tuple[str, str]]]:
    """Replays each event in its own transaction; returns (replayed, [(event_id, reason)])."""
    services = Services.create(settings)
    replayed, refused = 0, []
    try:
        if all_failed:
            async with services.session_factory() as session:
                event_ids = [*event_ids, *await service.failed_event_ids(session)]
        for event_id in track(event_ids, description="replaying", console=console):
            try:
                async with (
                    services.session_factory() as session,
                    unit_of_work(
                        session, services, actor_id=None, request_id="cli-webhooks-replay"
                    ) as uow,
                ):
                    await service.replay(uow, event_id)
                replayed += 1
            except DomainError as exc:
                refused.append((event_id, exc.errors[0].message))
    finally:
        await services.close()
    return replayed, refused
