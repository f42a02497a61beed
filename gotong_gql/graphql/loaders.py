"""Per-request DataLoaders, named `<things>_by_<key>`; each batch is one `IN` query.

They read Core rows shaped like the models (gotong_gql/rows.py), users without their password
hash; `identities_by_user_id` reads ORM instances (oidc/service.py shares its query).

Synchronous resolvers (issue 13). A field that reads one loader is a plain function returning
`now_or_later(loader.load(key), convert)`: the value itself when the loader already holds it, an
awaitable otherwise. graphql-core completes an object whose fields all answer at once without a
coroutine, a task or a gather per field, per object and per list item; that machinery was most
of the executor's time on a page of 50 tasks. A list resolver makes the loaders hold what its
page's fields will ask for (`TaskType.prefetch`: the users and skills of the page, one batch
each, the same statements as before), and the fields of its 50 objects then answer at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gotong_gql.contribution.models import Contribution, ContributionSkill, Verification
from gotong_gql.contribution.verification import evidence_qualities
from gotong_gql.credit.models import CreditAccount, CreditPosting
from gotong_gql.graphql.selection import selected_below
from gotong_gql.oidc.models import OidcIdentity
from gotong_gql.oidc.service import identities_of
from gotong_gql.reputation.service import Reputation, reputations_of
from gotong_gql.rows import USER_EXCLUDED, columns, rows_of
from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.task.models import Task, TaskSkill
from gotong_gql.user.models import User, UserRole

if TYPE_CHECKING:
    from gotong_gql.services import Services

Db = Callable[[], AbstractAsyncContextManager[AsyncSession]]
T = TypeVar("T")
R = TypeVar("R")


def now_or_later(loaded: Awaitable[T], convert: Callable[[T], R]) -> R | Awaitable[R]:
    """`convert` of what a DataLoader's `load` gives: at once when its future is resolved,
    else once it is (see the module's docstring)."""
    if isinstance(loaded, asyncio.Future) and loaded.done():
        return convert(loaded.result())
    return _later(loaded, convert)


async def _later(loaded: Awaitable[T], convert: Callable[[T], R]) -> R:
    return convert(await loaded)


def user_ids_wanted(
    info: Any, rows: Sequence[Any], fields: dict[str, str], path: Sequence[str] = ("edges", "node")
) -> set[uuid.UUID]:
    """The ids of the users that the selected fields among `fields` (GraphQL field name: the
    row attribute holding the user's id) will ask the users loader for, at `path` below the
    resolver's field."""
    if not rows:
        return set()
    wanted = selected_below(info, *path)
    attributes = [attribute for field, attribute in fields.items() if field in wanted]
    ids = {getattr(row, attribute) for row in rows for attribute in attributes}
    ids.discard(None)
    return ids


async def prefetch_users(
    info: Any, rows: Sequence[Any], fields: dict[str, str], path: Sequence[str] = ("edges", "node")
) -> None:
    """Loads (one batch) the users `user_ids_wanted` names: their fields then answer at once."""
    ids = user_ids_wanted(info, rows, fields, path)
    if ids:
        await info.context.loaders.users_by_id.load_many(ids)


def _by_id(db: Db, model: Any, exclude: frozenset[str] = frozenset()):
    query = rows_of(model, exclude)

    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        async with db() as session:
            rows = {row.id: row for row in await session.execute(query.where(model.id.in_(ids)))}
        return [rows.get(key) for key in ids]

    return load


def _grouped(rows: Any, key: str) -> defaultdict[Any, list[Any]]:
    grouped: defaultdict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


class Loaders:
    """A request's DataLoaders, each made when first used: a request uses a few of them."""

    def __init__(self, db: Db, services: Services) -> None:
        self._db = db
        self._services = services

    @cached_property
    def users_by_id(self) -> DataLoader[uuid.UUID, User | None]:
        return DataLoader(_by_id(self._db, User, USER_EXCLUDED))

    @cached_property
    def tasks_by_id(self) -> DataLoader[uuid.UUID, Task | None]:
        return DataLoader(_by_id(self._db, Task))

    @cached_property
    def skills_by_id(self) -> DataLoader[uuid.UUID, Skill | None]:
        return DataLoader(_by_id(self._db, Skill))

    @cached_property
    def contributions_by_id(self) -> DataLoader[uuid.UUID, Contribution | None]:
        return DataLoader(_by_id(self._db, Contribution))

    @cached_property
    def credit_accounts_by_id(self) -> DataLoader[uuid.UUID, CreditAccount | None]:
        return DataLoader(_by_id(self._db, CreditAccount))

    @cached_property
    def skills_by_task_id(self) -> DataLoader[uuid.UUID, list[Skill]]:
        return DataLoader(self._skills_by_task_id)

    @cached_property
    def user_skills_by_user_id(self) -> DataLoader[uuid.UUID, list[tuple[UserSkill, Skill]]]:
        return DataLoader(self._user_skills_by_user_id)

    @cached_property
    def roles_by_user_id(self) -> DataLoader[uuid.UUID, frozenset[str]]:
        return DataLoader(self._roles_by_user_id)

    @cached_property
    def contributions_by_task_id(self) -> DataLoader[uuid.UUID, Contribution | None]:
        return DataLoader(self._contributions_by_task_id)

    @cached_property
    def skills_by_contribution_id(self) -> DataLoader[uuid.UUID, list[Skill]]:
        return DataLoader(self._skills_by_contribution_id)

    @cached_property
    def verifications_by_contribution_id(self) -> DataLoader[uuid.UUID, list[Verification]]:
        return DataLoader(self._verifications_by_contribution_id)

    @cached_property
    def evidence_quality_by_contribution_id(self) -> DataLoader[uuid.UUID, float]:
        return DataLoader(self._evidence_quality_by_contribution_id)

    @cached_property
    def identities_by_user_id(self) -> DataLoader[uuid.UUID, list[OidcIdentity]]:
        return DataLoader(self._identities_by_user_id)

    @cached_property
    def credit_accounts_by_user_id(self) -> DataLoader[uuid.UUID, CreditAccount | None]:
        return DataLoader(self._credit_accounts_by_user_id)

    @cached_property
    def credit_postings_by_transaction_id(self) -> DataLoader[uuid.UUID, list[CreditPosting]]:
        return DataLoader(self._credit_postings_by_transaction_id)

    @cached_property
    def reputations_by_user(self) -> DataLoader[tuple[uuid.UUID, str], Reputation | None]:
        """Keyed by (user id, Markov user id): reputation/service.py asks Markov by the latter."""
        return DataLoader(self._reputations_by_user)

    async def _skills_by_task_id(self, task_ids: Sequence[uuid.UUID]) -> list[list[Skill]]:
        """Skill rows, each with the `task_id` it was read for."""
        async with self._db() as session:
            rows = await session.execute(
                select(TaskSkill.task_id, *columns(Skill))
                .join(Skill, Skill.id == TaskSkill.skill_id)
                .where(TaskSkill.task_id.in_(task_ids))
                .order_by(Skill.name)
            )
        grouped = _grouped(rows, "task_id")
        return [grouped[task_id] for task_id in task_ids]

    async def _user_skills_by_user_id(
        self, user_ids: Sequence[uuid.UUID]
    ) -> list[list[tuple[UserSkill, Skill]]]:
        """One row per user skill, read as both halves of the pair: the skill's columns and the
        user skill's own (`user_id`, `proficiency`, `endorsements_count`)."""
        async with self._db() as session:
            rows = await session.execute(
                select(UserSkill.user_id, UserSkill.proficiency, UserSkill.endorsements_count)
                .add_columns(*columns(Skill))
                .join(Skill, Skill.id == UserSkill.skill_id)
                .where(UserSkill.user_id.in_(user_ids))
                .order_by(UserSkill.proficiency.desc(), Skill.name)
            )
        grouped = _grouped(rows, "user_id")
        return [[(row, row) for row in grouped[user_id]] for user_id in user_ids]

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
            rows = await session.execute(
                rows_of(Contribution).where(Contribution.task_id.in_(task_ids))
            )
            by_task = {row.task_id: row for row in rows}
        return [by_task.get(task_id) for task_id in task_ids]

    async def _skills_by_contribution_id(
        self, contribution_ids: Sequence[uuid.UUID]
    ) -> list[list[Skill]]:
        async with self._db() as session:
            rows = await session.execute(
                select(ContributionSkill.contribution_id, *columns(Skill))
                .join(Skill, Skill.id == ContributionSkill.skill_id)
                .where(ContributionSkill.contribution_id.in_(contribution_ids))
                .order_by(Skill.name)
            )
        grouped = _grouped(rows, "contribution_id")
        return [grouped[contribution_id] for contribution_id in contribution_ids]

    async def _verifications_by_contribution_id(
        self, contribution_ids: Sequence[uuid.UUID]
    ) -> list[list[Verification]]:
        async with self._db() as session:
            rows = await session.execute(
                rows_of(Verification)
                .where(Verification.contribution_id.in_(contribution_ids))
                .order_by(Verification.created_at, Verification.id)
            )
        grouped = _grouped(rows, "contribution_id")
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
            rows = await session.execute(
                rows_of(CreditAccount).where(CreditAccount.user_id.in_(user_ids))
            )
            by_user = {row.user_id: row for row in rows}
        return [by_user.get(user_id) for user_id in user_ids]

    async def _credit_postings_by_transaction_id(
        self, transaction_ids: Sequence[uuid.UUID]
    ) -> list[list[CreditPosting]]:
        async with self._db() as session:
            rows = await session.execute(
                rows_of(CreditPosting).where(CreditPosting.transaction_id.in_(transaction_ids))
            )
        grouped = _grouped(rows, "transaction_id")
        return [grouped[transaction_id] for transaction_id in transaction_ids]

    async def _reputations_by_user(
        self, users: Sequence[tuple[uuid.UUID, str]]
    ) -> list[Reputation | None]:
        return await reputations_of(self._services, users, self._db)
