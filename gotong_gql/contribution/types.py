from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gotong_gql.contribution import codes, rules
from gotong_gql.contribution.models import Contribution, Verification
from gotong_gql.contribution.service import EVIDENCE_ORDER, VERIFICATION_ORDER
from gotong_gql.contribution.verification import reputation_multiplier
from gotong_gql.evidence import service as evidence_service
from gotong_gql.evidence.types import EvidenceType
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import CODE, ERRORS, UserError, error_code_enum
from gotong_gql.graphql.loaders import now_or_later
from gotong_gql.graphql.nodes import load_nodes
from gotong_gql.graphql.pagination import (
    After,
    Before,
    Connection,
    NestedFirst,
    NestedLast,
    PageArgs,
    paginate,
    window,
)
from gotong_gql.keyset import ListSource
from gotong_gql.skill.types import SkillType
from gotong_gql.task.types import TaskType
from gotong_gql.user.types import UserType


@strawberry.enum(name="ContributionType", description="The kind of work a contribution is.")
class ContributionKind(Enum):
    TASK_COMPLETION = strawberry.enum_value(
        "task_completion", description="A completed task (made by `taskComplete` only)."
    )
    CODE_REVIEW = strawberry.enum_value("code_review", description="Reviewing someone's code.")
    DOCUMENTATION = strawberry.enum_value("documentation", description="Writing documentation.")
    MENTORING = strawberry.enum_value("mentoring", description="Teaching or guiding someone.")
    EVENT_ORGANIZATION = strawberry.enum_value(
        "event_organization", description="Organizing an event."
    )
    COMMUNITY_SERVICE = strawberry.enum_value(
        "community_service", description="Service to the community."
    )
    CUSTOM = strawberry.enum_value("custom", description="Anything else; say what in the title.")


@strawberry.enum(description="One verifier's outcome.")
class VerificationOutcome(Enum):
    APPROVED = strawberry.enum_value("approved", description="The work is real and done.")
    REJECTED = strawberry.enum_value("rejected", description="The work is not shown to be done.")
    PENDING = strawberry.enum_value("pending", description="No decision recorded.")


@strawberry.enum(description="What a verifier decides (a verifier never chooses PENDING).")
class VerificationDecision(Enum):
    APPROVED = strawberry.enum_value("approved", description="The work is real and done.")
    REJECTED = strawberry.enum_value("rejected", description="The work is not shown to be done.")


@strawberry.type(name="Verification", description="One verifier's outcome for a contribution.")
class VerificationType(relay.Node):
    id: relay.NodeID[str]
    outcome: VerificationOutcome = strawberry.field(description="What the verifier decided.")
    evidence_quality_score: float = strawberry.field(
        description="0 to 1: the verifier's score, or the one computed from the evidence."
    )
    notes: str | None = strawberry.field(description="The verifier's notes (at most 2,000).")
    created_at: datetime = strawberry.field(description="When the verifier first decided.")
    updated_at: datetime = strawberry.field(description="When the verifier last decided.")
    row: strawberry.Private[Verification]

    @classmethod
    def from_row(cls, row: Verification) -> VerificationType:
        return cls(
            id=str(row.id),
            outcome=VerificationOutcome(row.outcome),
            evidence_quality_score=row.evidence_quality_score,
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await load_nodes(info, Verification, node_ids, cls.from_row)

    @strawberry.field(description="1.0 below 0.6, 1.2 below 0.8, 1.5 from 0.8.")
    def reputation_multiplier(self) -> float:
        return reputation_multiplier(self.evidence_quality_score)

    @strawberry.field(description="The verifier.")
    def verifier(self, info: strawberry.Info[Context, None]) -> UserType:
        return now_or_later(info.context.loaders.users_by_id.load(self.row.verifier_id), _user)


def _user(row: Any) -> UserType:
    return UserType.from_row(row)


def _task(row: Any) -> TaskType | None:
    return TaskType.from_row(row) if row else None


def _skills(rows: list[Any]) -> list[SkillType]:
    return [SkillType.from_row(skill) for skill in rows]


@strawberry.enum(description="What the verifiers' consensus says of a contribution.")
class VerificationStatus(Enum):
    PENDING = strawberry.enum_value(
        "pending", description="Fewer outcomes than the quorum, or a tie."
    )
    VERIFIED = strawberry.enum_value("verified", description="The weighted majority approved.")
    REJECTED = strawberry.enum_value("rejected", description="The weighted majority rejected.")


@strawberry.type(
    name="Contribution",
    description="Work a user did, from a completed task or standalone; visible to every user "
    "(its evidence is not).",
)
class ContributionType(relay.Node):
    id: relay.NodeID[str]
    contribution_type: ContributionKind = strawberry.field(description="The kind of work.")
    title: str = strawberry.field(description="1 to 200 characters.")
    description: str = strawberry.field(description="At most 2,000 characters; may be empty.")
    evidence_url: str | None = strawberry.field(
        description="A link the contributor gave to outside evidence; null if none."
    )
    verification_status: VerificationStatus = strawberry.field(
        description="What the verifiers decided so far."
    )
    metadata: JSON = strawberry.field(
        description="A JSON object of at most 50 keys (a task's: task_id, location, "
        "duration_hours, ...)."
    )
    created_at: datetime = strawberry.field(description="When it was recorded.")
    row: strawberry.Private[Contribution]

    @classmethod
    def from_row(cls, row: Contribution) -> ContributionType:
        return cls(
            id=str(row.id),
            contribution_type=ContributionKind(row.contribution_type),
            title=row.title,
            description=row.description,
            evidence_url=row.evidence_url,
            verification_status=VerificationStatus(row.verification_status),
            metadata=row.metadata_,
            created_at=row.created_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await load_nodes(info, Contribution, node_ids, cls.from_row)

    @strawberry.field(description="Who did the work.")
    def user(self, info: strawberry.Info[Context, None]) -> UserType:
        # A foreign key, ON DELETE CASCADE: never null.
        return now_or_later(info.context.loaders.users_by_id.load(self.row.user_id), _user)

    @strawberry.field(description="The task it completed; null for standalone work.")
    def task(self, info: strawberry.Info[Context, None]) -> TaskType | None:
        if self.row.task_id is None:
            return None
        return now_or_later(info.context.loaders.tasks_by_id.load(self.row.task_id), _task)

    @strawberry.field(description="At most 10 skills the work shows.")
    def skills(self, info: strawberry.Info[Context, None]) -> list[SkillType]:
        loaded = info.context.loaders.skills_by_contribution_id.load(self.row.id)
        return now_or_later(loaded, _skills)

    @strawberry.field(
        description="Its evidence, oldest first; null for users who may not see evidence."
    )
    async def evidence(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[EvidenceType] | None:
        pages = PageArgs(first, after, last, before)
        window(EVIDENCE_ORDER, pages, nested=True)  # bad arguments fail before any SQL
        viewer = await info.context.require_viewer()
        async with info.context.db() as session:
            if not await evidence_service.visible_contribution(
                session, viewer.id, viewer.roles, self.row.id
            ):
                return None
            rows = await evidence_service.evidence_of(session, self.row.id)
        source = ListSource(EVIDENCE_ORDER, rows)
        return await paginate(source, pages, EvidenceType.from_row, nested=True)

    @strawberry.field(
        description="Whether `contributionVerify` would accept the viewer (a verifier or an admin, "
        "not the contributor), by the rule the mutation enforces."
    )
    async def viewer_can_verify(self, info: strawberry.Info[Context, None]) -> bool:
        actor = await info.context.actor()
        return actor is not None and rules.may_verify(self.row, *actor)

    @strawberry.field(
        description="Whether `evidenceUploadRequest` and `evidenceSubmit` would accept the viewer "
        "(the contributor), by the rule they enforce; the evidence itself is checked only then."
    )
    async def viewer_can_add_evidence(self, info: strawberry.Info[Context, None]) -> bool:
        actor = await info.context.actor()
        return actor is not None and rules.may_add_evidence(self.row, actor[0])

    @strawberry.field(description="0..1, from the contribution's verified evidence.")
    async def evidence_quality_score(self, info: strawberry.Info[Context, None]) -> float:
        return await info.context.loaders.evidence_quality_by_contribution_id.load(self.row.id)

    @strawberry.field(description="1.0 below 0.6, 1.2 below 0.8, 1.5 from 0.8.")
    async def reputation_multiplier(self, info: strawberry.Info[Context, None]) -> float:
        score = await info.context.loaders.evidence_quality_by_contribution_id.load(self.row.id)
        return reputation_multiplier(score)

    @strawberry.field(description="The verifiers' outcomes, oldest first.")
    async def verifications(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[VerificationType]:
        pages = PageArgs(first, after, last, before)
        window(VERIFICATION_ORDER, pages, nested=True)
        rows = await info.context.loaders.verifications_by_contribution_id.load(self.row.id)
        source = ListSource(VERIFICATION_ORDER, rows)
        return await paginate(source, pages, VerificationType.from_row, nested=True)


ContributionErrorCode = error_code_enum(
    codes.ContributionErrorCode, "Why a contribution mutation refused."
)


@strawberry.type(description="Why a contribution mutation refused; nothing was written.")
class ContributionError(UserError):
    code: ContributionErrorCode = strawberry.field(description=CODE)


@strawberry.input(description="Standalone work of the viewer (not a task's).")
class ContributionCreateInput:
    contribution_type: ContributionKind = strawberry.field(
        description="The kind of work; not TASK_COMPLETION."
    )
    title: str = strawberry.field(description="1 to 200 characters, trimmed.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="At most 2,000 characters."
    )
    evidence_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="A link to outside evidence of the work."
    )
    skills: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="At most 10 skill names."
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="<= 50 keys; not those taskComplete writes (task_id, location, latitude,"
        " longitude, duration_hours, estimated_hours, difficulty).",
    )


@strawberry.type(description="The result of `contributionCreate`.")
class ContributionCreatePayload:
    contribution: ContributionType | None = strawberry.field(
        description="The new contribution, PENDING; null when refused."
    )
    errors: list[ContributionError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Which contributions to list; the fields given must all match.")
class ContributionFilterInput:
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Made by.")
    task_id: strawberry.ID | None = strawberry.field(default=None, description="Of this task.")
    verification_status: VerificationStatus | None = strawberry.field(
        default=None, description="In this state."
    )
    contribution_type: ContributionKind | None = strawberry.field(
        default=None, description="Of this kind."
    )


@strawberry.input(description="A verifier's outcome for someone else's contribution.")
class ContributionVerifyInput:
    contribution_id: strawberry.ID = strawberry.field(description="The contribution.")
    outcome: VerificationDecision = strawberry.field(description="Approve or reject.")
    evidence_quality_score: float | None = strawberry.field(
        default=None, description="0..1; computed from the evidence when omitted."
    )
    notes: str | None = strawberry.field(default=None, description="At most 2,000 characters.")


@strawberry.type(description="The result of `contributionVerify`.")
class ContributionVerifyPayload:
    contribution: ContributionType | None = strawberry.field(
        description="The contribution with its new status; null when refused."
    )
    verification: VerificationType | None = strawberry.field(
        description="The viewer's verification; null when refused."
    )
    errors: list[ContributionError] = strawberry.field(description=ERRORS)
