from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    fk_field,
    id_field,
    in_list,
    json_field,
)

CONTRIBUTION_TYPES = (
    "task_completion",
    "code_review",
    "documentation",
    "mentoring",
    "event_organization",
    "community_service",
    "custom",
)
VERIFICATION_STATUSES = ("pending", "verified", "rejected")
VERIFICATION_OUTCOMES = ("approved", "rejected", "pending")


class Contribution(SQLModel, table=True):
    __tablename__ = "contributions"
    __table_args__ = (
        check("length(title) BETWEEN 1 AND 200", "title_length"),
        check("length(description) <= 2000", "description_length"),
        check(in_list("contribution_type", CONTRIBUTION_TYPES), "contribution_type"),
        check(in_list("verification_status", VERIFICATION_STATUSES), "verification_status"),
        check(
            "evidence_quality_score IS NULL OR "
            "(evidence_quality_score >= 0 AND evidence_quality_score <= 1)",
            "evidence_quality_score_range",
        ),
        # One contribution per completed task.
        sa.Index(
            "uq_contributions_task_id",
            "task_id",
            unique=True,
            postgresql_where=sa.text("task_id IS NOT NULL"),
            sqlite_where=sa.text("task_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE")
    task_id: uuid.UUID | None = fk_field(
        "tasks.id", ondelete="SET NULL", nullable=True, index=False
    )
    contribution_type: str = Field(max_length=40)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    evidence_url: str | None = Field(default=None, max_length=2048)
    verification_status: str = Field(default="pending", max_length=20, index=True)
    evidence_quality_score: float | None = None
    metadata_: dict[str, Any] = json_field(name="metadata")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ContributionSkill(SQLModel, table=True):
    __tablename__ = "contribution_skills"

    contribution_id: uuid.UUID = Field(
        foreign_key="contributions.id", ondelete="CASCADE", primary_key=True
    )
    skill_id: uuid.UUID = Field(
        foreign_key="skills.id", ondelete="RESTRICT", primary_key=True, index=True
    )


class Verification(SQLModel, table=True):
    __tablename__ = "verifications"
    __table_args__ = (
        check(in_list("outcome", VERIFICATION_OUTCOMES), "outcome"),
        check(
            "evidence_quality_score >= 0 AND evidence_quality_score <= 1",
            "evidence_quality_score_range",
        ),
        check("notes IS NULL OR length(notes) <= 2000", "notes_length"),
        sa.UniqueConstraint("verifier_id", "contribution_id"),
    )

    id: uuid.UUID = id_field()
    contribution_id: uuid.UUID = fk_field("contributions.id", ondelete="CASCADE")
    verifier_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE")
    outcome: str = Field(max_length=20)
    evidence_quality_score: float = 0.5
    notes: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
