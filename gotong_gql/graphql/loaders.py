"""Per-request DataLoaders, named `<things>_by_<key>`; each batch is one `IN` query."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.task.models import Task, TaskSkill
from gotong_gql.user.models import User, UserRole

K = TypeVar("K")
V = TypeVar("V")


def _by_id(session_getter: Callable[[], Awaitable[AsyncSession]], model: Any):
    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        session = await session_getter()
        rows = {row.id: row for row in await session.scalars(select(model).where(model.id.in_(ids)))}
        return [rows.get(key) for key in ids]

    return load


class Loaders:
    def __init__(self, session_getter: Callable[[], Awaitable[AsyncSession]]) -> None:
        self._session = session_getter
        self.users_by_id: DataLoader[uuid.UUID, User | None] = DataLoader(
            _by_id(session_getter, User)
        )
        self.tasks_by_id: DataLoader[uuid.UUID, Task | None] = DataLoader(
            _by_id(session_getter, Task)
        )
        self.skills_by_task_id: DataLoader[uuid.UUID, list[Skill]] = DataLoader(
            self._skills_by_task_id
        )
        self.user_skills_by_user_id: DataLoader[uuid.UUID, list[tuple[UserSkill, Skill]]] = (
            DataLoader(self._user_skills_by_user_id)
        )
        self.roles_by_user_id: DataLoader[uuid.UUID, frozenset[str]] = DataLoader(
            self._roles_by_user_id
        )

    async def _skills_by_task_id(self, task_ids: Sequence[uuid.UUID]) -> list[list[Skill]]:
        session = await self._session()
        rows = await session.execute(
            select(TaskSkill.task_id, Skill)
            .join(Skill, Skill.id == TaskSkill.skill_id)
            .where(TaskSkill.task_id.in_(task_ids))
            .order_by(Skill.name)
        )
        grouped: dict[uuid.UUID, list[Skill]] = defaultdict(list)
        for task_id, skill in rows:
            grouped[task_id].append(skill)
        return [grouped[task_id] for task_id in task_ids]

    async def _user_skills_by_user_id(
        self, user_ids: Sequence[uuid.UUID]
    ) -> list[list[tuple[UserSkill, Skill]]]:
        session = await self._session()
        rows = await session.execute(
            select(UserSkill, Skill)
            .join(Skill, Skill.id == UserSkill.skill_id)
            .where(UserSkill.user_id.in_(user_ids))
            .order_by(UserSkill.proficiency.desc(), Skill.name)
        )
        grouped: dict[uuid.UUID, list[tuple[UserSkill, Skill]]] = defaultdict(list)
        for user_skill, skill in rows:
            grouped[user_skill.user_id].append((user_skill, skill))
        return [grouped[user_id] for user_id in user_ids]

    async def _roles_by_user_id(self, user_ids: Sequence[uuid.UUID]) -> list[frozenset[str]]:
        session = await self._session()
        rows = await session.execute(
            select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(user_ids))
        )
        grouped: dict[uuid.UUID, set[str]] = defaultdict(set)
        for user_id, role in rows:
            grouped[user_id].add(role)
        return [frozenset(grouped[user_id]) for user_id in user_ids]
