from __future__ import annotations

import uuid
from datetime import datetime

from gotong_gql.models_base import Field, SQLModel, check, created_at_field, id_field


class Skill(SQLModel, table=True):
    __tablename__ = "skills"
    __table_args__ = (check("length(name) BETWEEN 1 AND 100", "name_length"),)

    id: uuid.UUID = id_field()
    name: str = Field(max_length=100, unique=True)
    category: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()


class UserSkill(SQLModel, table=True):
    __tablename__ = "user_skills"
    __table_args__ = (
        check("proficiency >= 0 AND proficiency <= 1", "proficiency_range"),
        check("endorsements_count >= 0", "endorsements_nonnegative"),
    )

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    skill_id: uuid.UUID = Field(
        foreign_key="skills.id", ondelete="CASCADE", primary_key=True, index=True
    )
    proficiency: float = Field(default=0.0)
    endorsements_count: int = Field(default=0)
    created_at: datetime = created_at_field()
