from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gotong_gql.contribution import rules
from gotong_gql.contribution.models import Contribution, Verification
from gotong_gql.contribution.service import EVIDENCE_ORDER, VERIFICATION_ORDER
from gotong_gql.contribution.verification import reputation_multiplier
from gotong_gql.evidence import service as evidence_service
from gotong_gql.evidence.types import EvidenceType
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import UserError
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


@strawberry.enum(name="ContributionType")
class ContributionKind(Enum):
    TASK_COMPLETION = "task_completion"
    CODE_REVIEW = "code_review"
    DOCUMENTATION = "documentation"
    MENTORING = "mentoring"
    EVENT_ORGANIZATION = "event_organization"
    COMMUNITY_SERVICE = "community_service"
    CUSTOM = "custom"


@strawberry.enum
class VerificationOutcome(Enum):
    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"


@strawberry.enum(description="What a verifier decides (a verifier never chooses PENDING).")
class VerificationDecision(Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.type(name="Verification", description="One verifier's outcome for a contribution.")
class VerificationType(relay.Node):
    id: relay.NodeID[str]
    outcome: VerificationOutcome
    evidence_quality_score: float
    notes: str | None
    created_at: datetime
    updated_at: datetime
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

    @strawberry.field
    async def verifier(self, info: strawberry.Info[Context, None]) -> UserType:
        user = await info.context.loaders.users_by_id.load(self.row.verifier_id)
        return UserType.from_row(user)


@strawberry.enum
class VerificationStatus(Enum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


@strawberry.type(name="Contribution")
class ContributionType(relay.Node):
    id: relay.NodeID[str]
    contribution_type: ContributionKind
    title: str
    description: str
    evidence_url: str | None
    verification_status: VerificationStatus
    metadata: JSON
    created_at: datetime
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

    @strawberry.field
    async def user(self, info: strawberry.Info[Context, None]) -> UserType:
        user = await info.context.loaders.users_by_id.load(self.row.user_id)
        assert user is not None  # foreign key, ON DELETE CASCADE
        return UserType.from_row(user)

    @strawberry.field
    async def task(self, info: strawberry.Info[Context, None]) -> TaskType | None:
        if self.row.task_id is None:
            return None
        task = await info.context.loaders.tasks_by_id.load(self.row.task_id)
        return TaskType.from_row(task) if task else None

    @strawberry.field
    async def skills(self, info: strawberry.Info[Context, None]) -> list[SkillType]:
        rows = await info.context.loaders.skills_by_contribution_id.load(self.row.id)
        return [SkillType.from_row(skill) for skill in rows]

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

    @strawberry.field(description="Oldest first.")
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


@strawberry.enum
class ContributionErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"


@strawberry.type
class ContributionError(UserError):
    code: ContributionErrorCode


@strawberry.input
class ContributionCreateInput:
    contribution_type: ContributionKind
    title: str
    description: str | None = strawberry.UNSET
    evidence_url: str | None = strawberry.UNSET
    skills: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="At most 10 skill names."
    )
    metadata: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="<= 50 keys; not those taskComplete writes (task_id, location, latitude,"
        " longitude, duration_hours, estimated_hours, difficulty).",
    )


@strawberry.type
class ContributionCreatePayload:
    contribution: ContributionType | None
    errors: list[ContributionError]


@strawberry.input
class ContributionFilterInput:
    user_id: strawberry.ID | None = None
    task_id: strawberry.ID | None = None
    verification_status: VerificationStatus | None = None
    contribution_type: ContributionKind | None = None


@strawberry.input
class ContributionVerifyInput:
    contribution_id: strawberry.ID
    outcome: VerificationDecision
    evidence_quality_score: float | None = strawberry.field(
        default=None, description="0..1; computed from the evidence when omitted."
    )
    notes: str | None = None


@strawberry.type
class ContributionVerifyPayload:
    contribution: ContributionType | None
    verification: VerificationType | None
    errors: list[ContributionError]
