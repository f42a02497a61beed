"""Skills: names normalised to lowercase slugs, created on first use."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.rows import rows_of
from gotong_gql.skill.models import Skill

MAX_SKILL_NAME = 100
_SEPARATORS = re.compile(r"[\s_/]+")
_DISALLOWED = re.compile(r"[^a-z0-9+#.\-]")
_DASHES = re.compile(r"-{2,}")


def normalise_skill_name(name: str) -> str:
    """'  Python_3 / Web Dev ' -> 'python-3-web-dev'; keeps + # . for names like c++ and c#."""
    slug = _SEPARATORS.sub("-", name.strip().lower())
    slug = _DASHES.sub("-", _DISALLOWED.sub("", slug)).strip("-.")
    return slug


def normalise_skill_names(names: Iterable[str], field: str = "skills") -> list[str]:
    """Distinct slugs in first-seen order; an empty or over-long name is an input error."""
    slugs: list[str] = []
    for index, name in enumerate(names):
        slug = normalise_skill_name(name)
        if not slug:
            raise DomainError("INVALID_INPUT", "skill name is empty", f"{field}.{index}")
        if len(slug) > MAX_SKILL_NAME:
            raise DomainError(
                "INVALID_INPUT",
                f"skill name exceeds {MAX_SKILL_NAME} characters",
                f"{field}.{index}",
            )
        if slug not in slugs:
            slugs.append(slug)
    return slugs


async def ensure_skills(session: AsyncSession, slugs: list[str]) -> list[Skill]:
    """The skills with these (already normalised) names, inserting the missing ones.

    `ON CONFLICT DO NOTHING` keeps two requests creating the same new skill from failing.
    """
    if not slugs:
        return []
    now = utcnow()
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(Skill)
        .values([{"id": uuid.uuid4(), "name": slug, "created_at": now} for slug in slugs])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    rows = {
        skill.name: skill
        for skill in await session.scalars(select(Skill).where(Skill.name.in_(slugs)))
    }
    return [rows[slug] for slug in slugs]


SKILL_ORDER = Order("Skill", "NAME_ASC", (Key(Skill.name, "text"), Key(Skill.id, "uuid")))


def skill_listing(search: str | None) -> Listing:
    query = rows_of(Skill)
    if search:
        needle = normalise_skill_name(search)
        query = query.where(func.lower(Skill.name).contains(needle, autoescape=True))
    return Listing(query, SKILL_ORDER, rows=True)
