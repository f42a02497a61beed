"""Demo data for `make run` and `gotong-gql seed-demo`, made through the services of the API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from rich.progress import track
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.contribution import service as contributions
from gotong_gql.credit import ledger
from gotong_gql.services import Services
from gotong_gql.settings import Settings
from gotong_gql.task import completion, lifecycle
from gotong_gql.task import service as tasks
from gotong_gql.task.models import Task
from gotong_gql.uow import UnitOfWork, unit_of_work
from gotong_gql.user import registration
from gotong_gql.user import service as users
from gotong_gql.user.models import User

DEMO_PASSWORD = "gotong-demo-password"
DEMO_USERS = [
    ("admin", ["admin"]),
    ("siti", ["organizer"]),
    ("rahmat", ["verifier"]),
    ("budi", []),
    ("dewi", []),
]
DEMO_TASKS = [
    ("Clean the river bank at Kali Code", ["cleanup", "community-service"], -7.7829, 110.3671),
    ("Repair the community hall roof", ["carpentry"], -7.7956, 110.3695),
    ("Teach basic bookkeeping to the cooperative", ["accounting", "teaching"], None, None),
    ("Plant mangroves in Baros", ["planting"], -7.9971, 110.2834),
    ("Build the neighbourhood rain gauge", ["carpentry", "electronics"], -7.8014, 110.3647),
]


async def seed(settings: Settings, *, if_empty: bool, console: Console) -> bool:
    services = Services.create(settings)
    try:
        async with services.session_factory() as session:
            if if_empty and await session.scalar(select(func.count()).select_from(User)):
                return False
            await _seed(services, session, console)
        return True
    finally:
        await services.close()


async def _seed(services: Services, session: AsyncSession, console: Console) -> None:
    async def step(actor: User | None, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        async with unit_of_work(
            session, services, actor_id=actor.id if actor else None, request_id="seed-demo"
        ) as uow:
            return await work(uow)

    people: dict[str, User] = {}
    for name, roles in track(DEMO_USERS, description="users", console=console):
        people[name] = await step(
            None,
            lambda uow, name=name, roles=roles: registration.create_user(
                uow,
                {"username": name, "email": f"{name}@example.org", "password": DEMO_PASSWORD},
                roles,
            ),
        )
    organizer, budi, dewi = people["siti"], people["budi"], people["dewi"]
    await step(
        budi,
        lambda uow: users.update_profile(
            uow,
            budi,
            {
                "bio": "Carpenter and river volunteer.",
                "location": "Yogyakarta",
                "skills": ["carpentry", "cleanup"],
            },
        ),
    )
    await step(
        dewi,
        lambda uow: users.update_profile(
            uow,
            dewi,
            {"bio": "Teacher.", "location": "Sleman", "skills": ["teaching", "accounting"]},
        ),
    )

    created: list[Task] = []
    for title, skills, lat, lon in track(DEMO_TASKS, description="tasks", console=console):
        created.append(
            await step(
                organizer,
                lambda uow, t=title, s=skills, la=lat, lo=lon: tasks.create_task(
                    uow,
                    frozenset({"organizer"}),
                    {
                        "title": t,
                        "description": f"{t}. Bring gloves and water.",
                        "skills": s,
                        "latitude": la,
                        "longitude": lo,
                        "estimated_hours": 4,
                        "location": "Yogyakarta" if la else None,
                        "difficulty": "intermediate",
                    },
                ),
            )
        )
    assigned, in_progress, cancelled, completed = created[1:]  # created[0] stays open
    roles = frozenset({"organizer"})
    await step(organizer, lambda uow: lifecycle.assign_task(uow, roles, assigned.id, budi.id))
    await step(dewi, lambda uow: lifecycle.claim_task(uow, in_progress.id))
    await step(dewi, lambda uow: lifecycle.start_task(uow, in_progress.id))
    await step(
        organizer, lambda uow: lifecycle.cancel_task(uow, roles, cancelled.id, "rainy season")
    )
    await step(organizer, lambda uow: lifecycle.assign_task(uow, roles, completed.id, budi.id))
    await step(budi, lambda uow: lifecycle.start_task(uow, completed.id))
    await step(
        budi,
        lambda uow: completion.complete_task(
            uow, budi, completed.id, {"description": "Gauge installed and calibrated."}
        ),
    )
    await step(
        dewi,
        lambda uow: contributions.create_contribution(
            uow,
            dewi,
            {
                "contribution_type": "mentoring",
                "title": "Mentored two new volunteers",
                "skills": ["teaching"],
            },
        ),
    )
    await step(
        budi, lambda uow: ledger.transfer(uow, dewi.id, 30, "Thanks for the bookkeeping lesson")
    )


async def create_user_from_cli(
    settings: Settings, username: str, email: str, password: str, roles: list[str]
) -> uuid.UUID:
    services = Services.create(settings)
    try:
        async with (
            services.session_factory() as session,
            unit_of_work(session, services, actor_id=None, request_id="cli") as uow,
        ):
            user = await registration.create_user(
                uow, {"username": username, "email": email, "password": password}, roles
            )
        return user.id
    finally:
        await services.close()
