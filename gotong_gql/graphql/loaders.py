"""Per-request DataLoaders, named `<things>_by_<key>`; each batch is one `IN` query."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gotong_gql.contribution.models import Contribution, ContributionSkill, Verification
from gotong_gql.contribution.verification import evidence_qualities
from gotong_gql.credit.models import CreditAccount, CreditPosting
from gotong_gql.oidc.models import OidcIdentity
from gotong_gql.oidc.service import identities_of
from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.task.models import Task, TaskSkill
from gotong_gql.user.models import User, UserRole

Db = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def _by_id(db: Db, model: Any):
    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        async with db() as session:
            rows = {
                row.id: row for row in await session.scalars(select(model).where(model.id.in_(ids)))
            }
        return [rows.get(key) for key in ids]

    return load


class Loaders:
    def __init__(self, db: Db) -> None:
        self._db = db
        self.users_by_id: DataLoader[uuid.UUID, User | None] = DataLoader(_by_id(db, User))
        self.tasks_by_id: DataLoader[uuid.UUID, Task | None] = DataLoader(_by_id(db, Task))
        self.skills_by_id: DataLoader[uuid.UUID, Skill | None] = DataLoader(_by_id(db, Skill))
        self.skills_by_task_id: DataLoader[uuid.UUID, list[Skill]] = DataLoader(
            self._skills_by_task_id
        )
        self.user_skills_by_user_id: DataLoader[uuid.UUID, list[tuple[UserSkill, Skill]]] = (
            DataLoader(self._user_skills_by_user_id)
        )
        self.roles_by_user_id: DataLoader[uuid.UUID, frozenset[str]] = DataLoader(
            self._roles_by_user_id
        )
        self.contributions_by_task_id: DataLoader[uuid.UUID, Contribution | None] = DataLoader(
            self._contributions_by_task_id
        )
        self.skills_by_contribution_id: DataLoader[uuid.UUID, list[Skill]] = DataLoader(
            self._skills_by_contribution_id
        )
        self.verifications_by_contribution_id: DataLoader[uuid.UUID, list[Verification]] = (
            DataLoader(self._verifications_by_contribution_id)
        )
        self.evidence_quality_by_contribution_id: DataLoader[uuid.UUID, float] = DataLoader(
            self._evidence_quality_by_contribution_id
        )
        self.identities_by_user_id: DataLoader[uuid.UUID, list[OidcIdentity]] = DataLoader(
            self._identities_by_user_id
        )
        self.contributions_by_id: DataLoader[uuid.UUID, Contribution | None] = DataLoader(
            _by_id(db, Contribution)
        )
        self.credit_accounts_by_id: DataLoader[uuid.UUID, CreditAccount | None] = DataLoader(
            _by_id(db, CreditAccount)
        )
        self.credit_accounts_by_user_id: DataLoader[uuid.UUID, CreditAccount | None] = DataLoader(
            self._credit_accounts_by_user_id
        )
        self.credit_postings_by_transaction_id: DataLoader[uuid.UUID, list[CreditPosting]] = (
            DataLoader(self._credit_postings_by_transaction_id)
        )

    async def _skills_by_task_id(self, task_ids: Sequence[uuid.UUID]) -> list[list[Skill]]:
        async with self._db() as session:
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
        async with self._db() as session:
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
        async with self._db() as session:
            rows = await session.execute(
                select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(user_ids))
            )
        grouped: dict[uuid.UUID, set[str]] = defaultdict(set)
        for user_id, role in rows:
            grouped[user_id].add(role)
        return [frozenset(grouped[user_id]) for user_id in user_ids]

    async def _contributions_by_task_id(
        self, task_ids: Sequence[uuid.UUID]
    ) -> list[Contribution | None]:
        async with self._db() as session:
            rows = await session.scalars(
                select(Contribution).where(Contribution.task_id.in_(task_ids))
            )
            by_task = {row.task_id: row for row in rows}
        return [by_task.get(task_id) for task_id in task_ids]

    async def _skills_by_contribution_id(
        self, contribution_ids: Sequence[uuid.UUID]
    ) -> list[list[Skill]]:
        async with self._db() as session:
            rows = await session.execute(
                select(ContributionSkill.contribution_id, Skill)
                .join(Skill, Skill.id == ContributionSkill.skill_id)
                .where(ContributionSkill.contribution_id.in_(contribution_ids))
                .order_by(Skill.name)
            )
        grouped: dict[uuid.UUID, list[Skill]] = defaultdict(list)
        for contribution_id, skill in rows:
            grouped[contribution_id].append(skill)
        return [grouped[contribution_id] for contribution_id in contribution_ids]

    async def _verifications_by_contribution_id(
        self, contribution_ids: Sequence[uuid.UUID]
    ) -> list[list[Verification]]:
        async with self._db() as session:
            rows = await session.scalars(
                select(Verification)
                .where(Verification.contribution_id.in_(contribution_ids))
                .order_by(Verification.created_at, Verification.id)
            )
            grouped: dict[uuid.UUID, list[Verification]] = defaultdict(list)
            for row in rows:
                grouped[row.contribution_id].append(row)
        return [grouped[contribution_id] for contribution_id in contribution_ids]

    async def _evidence_quality_by_contribution_id(
        self, contribution_ids: Sequence[uuid.UUID]
    ) -> list[float]:
        async with self._db() as session:
            scores = await evidence_qualities(session, list(contribution_ids))
        return [scores[contribution_id] for contribution_id in contribution_ids]

    async def _identities_by_user_id(
        self, user_ids: Sequence[uuid.UUID]
    ) -> list[list[OidcIdentity]]:
        async with self._db() as session:
            rows = await identities_of(session, list(user_ids))
        grouped: dict[uuid.UUID, list[OidcIdentity]] = defaultdict(list)
        for row in rows:
            grouped[row.user_id].append(row)
        return [grouped[user_id] for user_id in user_ids]

    async def _credit_accounts_by_user_id(
        self, user_ids: Sequence[uuid.UUID]
    ) -> list[CreditAccount | None]:
        async with self._db() as session:
            rows = await session.scalars(
                select(CreditAccount).where(CreditAccount.user_id.in_(user_ids))
            )
            by_user = {row.user_id: row for row in rows}
        return [by_user.get(user_id) for user_id in user_ids]

    async def _credit_postings_by_transaction_id(
        self, transaction_ids: Sequence[uuid.UUID]
    ) -> list[list[CreditPosting]]:
        async with self._db() as session:
            rows = await session.scalars(
                select(CreditPosting).where(CreditPosting.transaction_id.in_(transaction_ids))
            )
            grouped: dict[uuid.UUID, list[CreditPosting]] = defaultdict(list)
            for row in rows:
                grouped[row.transaction_id].append(row)
        return [grouped[transaction_id] for transaction_id in transaction_ids]
