"""Contributions: standalone work, or the record of a completed task (taskComplete, in
task/completion.py, records it with `record_task_completion`). Both reach Markov as
`contribution_created`, written to the outbox in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from gotong_gql.audit.service import record, snapshot
from gotong_gql.contribution.codes import ContributionErrorCode
from gotong_gql.contribution.models import Contribution, ContributionSkill, Verification
from gotong_gql.errors import DomainError, FieldError, validate
from gotong_gql.evidence.models import Evidence
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.rows import rows_of
from gotong_gql.skill.models import Skill
from gotong_gql.skill.service import ensure_skills, normalise_skill_names
from gotong_gql.uow import UnitOfWork
from gotong_gql.urls import HTTPS_ONLY, WebUrl
from gotong_gql.user.models import User
from gotong_gql.webhook.outbox import write_event

MAX_SKILLS = 10
MAX_METADATA_KEYS = 50
# The metadata taskComplete writes from the task. A standalone contribution carrying them would
# read, to Markov, as the completion of a task (anyone's).
RESERVED_METADATA_KEYS = (
    "task_id",
    "location",
    "latitude",
    "longitude",
    "duration_hours",
    "estimated_hours",
    "difficulty",
)
CONTRIBUTION_FIELDS = (
    "contribution_type",
    "title",
    "description",
    "evidence_url",
    "verification_status",
    "task_id",
    "metadata_",
)
# The values of the GraphQL enum ContributionKind, as stored (`contribution_type`).
ContributionKindValue = Literal[
    "task_completion",
    "code_review",
    "documentation",
    "mentoring",
    "event_organization",
    "community_service",
    "custom",
]


class ContributionFields(BaseModel):
    """What every contribution takes from its author, a task's completion included."""

    model_config = ConfigDict(frozen=True)

    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    evidence_url: WebUrl | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_METADATA_KEYS:
            raise ValueError(f"metadata has at most {MAX_METADATA_KEYS} keys")
        return value


class ContributionData(ContributionFields):
    contribution_type: ContributionKindValue
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    skills: Annotated[list[str], Field(max_length=MAX_SKILLS)] = Field(default_factory=list)


async def _create(
    uow: UnitOfWork,
    actor: User,
    *,
    contribution_type: str,
    title: str,
    description: str,
    evidence_url: str | None,
    metadata: dict[str, Any],
    skills: list[Skill],
    task_id: uuid.UUID | None,
) -> Contribution:
    if len(metadata) > MAX_METADATA_KEYS:
        raise DomainError(
            ContributionErrorCode.INVALID_INPUT,
            f"metadata has at most {MAX_METADATA_KEYS} keys",
            "metadata",
        )
    contribution = Contribution(
        user_id=actor.id,
        task_id=task_id,
        contribution_type=contribution_type,
        title=title,
        description=description,
        evidence_url=evidence_url,
        metadata_=metadata,
    )
    uow.session.add(contribution)
    await uow.session.flush()
    uow.session.add_all(
        ContributionSkill(contribution_id=contribution.id, skill_id=skill.id) for skill in skills
    )
    after = snapshot(contribution, CONTRIBUTION_FIELDS)
    after["skills"] = [skill.name for skill in skills]
    record(uow, "contribution.create", "contribution", contribution.id, after=after)
    write_event(
        uow,
        "contribution_created",
        actor,
        {
            "contribution_id": str(contribution.id),
            "contribution_type": contribution_type,
            "title": title,
            "description": description,
            "evidence_url": evidence_url,
            "skill_ids": [str(skill.id) for skill in skills],
            "metadata": metadata,
        },
    )
    await uow.session.flush()
    return contribution


async def record_task_completion(
    uow: UnitOfWork,
    actor: User,
    task_id: uuid.UUID,
    *,
    title: str,
    description: str,
    evidence_url: str | None,
    metadata: dict[str, Any],
    skills: list[Skill],
) -> Contribution:
    """The contribution of a completed task, its metadata written by the task's completion."""
    return await _create(
        uow,
        actor,
        contribution_type="task_completion",
        title=title,
        description=description,
        evidence_url=evidence_url,
        metadata=metadata,
        skills=skills,
        task_id=task_id,
    )


def ensure_standalone(data: ContributionData) -> None:
    """TASK_COMPLETION and the metadata of one come from taskComplete only."""
    errors = [
        FieldError(
            ContributionErrorCode.INVALID_INPUT,
            f"{key} is written by taskComplete only",
            f"metadata.{key}",
        )
        for key in RESERVED_METADATA_KEYS
        if key in data.metadata
    ]
    if data.contribution_type == "task_completion":
        message = "a task completion is recorded by taskComplete"
        errors.insert(
            0, FieldError(ContributionErrorCode.INVALID_INPUT, message, "contributionType")
        )
    if errors:
        raise DomainError.many(errors)


async def create_contribution(
    uow: UnitOfWork, actor: User, raw: dict[str, Any], *, https_only: bool = True
) -> Contribution:
    """Standalone work, not tied to a task."""
    data = validate(ContributionData, raw, context={HTTPS_ONLY: https_only})
    ensure_standalone(data)
    skills = await ensure_skills(uow.session, normalise_skill_names(data.skills))
    return await _create(
        uow,
        actor,
        contribution_type=data.contribution_type,
        title=data.title,
        description=data.description,
        evidence_url=data.evidence_url,
        metadata=data.metadata,
        skills=skills,
        task_id=None,
    )


@dataclass(frozen=True)
class ContributionFilter:
    user_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    verification_status: str | None = None
    contribution_type: str | None = None


CONTRIBUTION_ORDER = Order(
    "Contribution",
    "CREATED_AT_DESC",
    (Key(Contribution.created_at, "timestamp", True), Key(Contribution.id, "uuid", True)),
)


# Contribution.evidence and Contribution.verifications page rows loaded whole (keyset.ListSource).
EVIDENCE_ORDER = Order(
    "Evidence", "CREATED_AT_ASC", (Key(Evidence.created_at, "timestamp"), Key(Evidence.id, "uuid"))
)
VERIFICATION_ORDER = Order(
    "Verification",
    "CREATED_AT_ASC",
    (Key(Verification.created_at, "timestamp"), Key(Verification.id, "uuid")),
)


def contribution_listing(contribution_filter: ContributionFilter) -> Listing:
    """Contributions newest first."""
    query = rows_of(Contribution)
    if contribution_filter.user_id:
        query = query.where(Contribution.user_id == contribution_filter.user_id)
    if contribution_filter.task_id:
        query = query.where(Contribution.task_id == contribution_filter.task_id)
    if contribution_filter.verification_status:
        query = query.where(
            Contribution.verification_status == contribution_filter.verification_status
        )
    if contribution_filter.contribution_type:
        query = query.where(Contribution.contribution_type == contribution_filter.contribution_type)
    return Listing(query, CONTRIBUTION_ORDER, rows=True)
