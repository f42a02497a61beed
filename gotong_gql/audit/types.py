from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gotong_gql.audit.models import AuditLog
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.loaders import now_or_later
from gotong_gql.user.types import UserType


@strawberry.type(
    name="AuditEntry", description="One recorded change: who did what, before and after."
)
class AuditEntryType:
    action: str = strawberry.field(
        description="What was done, as `<entity>.<verb>` (`task.create`, `task.assign`, ...)."
    )
    entity: str = strawberry.field(description="The kind of record changed (`task`, `user`, ...).")
    before: JSON | None = strawberry.field(
        description="The recorded fields before the change; null when the record was created."
    )
    after: JSON | None = strawberry.field(description="The recorded fields after the change.")
    at: datetime = strawberry.field(description="When the change was committed.")
    request_id: str | None = strawberry.field(
        description="The request that made the change (its `X-Request-ID`); null for jobs."
    )
    row: strawberry.Private[AuditLog]

    @classmethod
    def from_row(cls, row: AuditLog) -> AuditEntryType:
        return cls(
            action=row.action,
            entity=row.entity,
            before=row.before,
            after=row.after,
            at=row.at,
            request_id=row.request_id,
            row=row,
        )

    @strawberry.field(description="Who made the change; null for the system (a job, the CLI).")
    def actor(self, info: strawberry.Info[Context, None]) -> UserType | None:
        if self.row.actor_id is None:
            return None
        return now_or_later(info.context.loaders.users_by_id.load(self.row.actor_id), _user_type)


def _user_type(row: Any) -> UserType | None:
    return UserType.from_row(row) if row else None


@strawberry.type(
    description="The newest link of one hash chain (SPEC 9): compare it with an older one to "
    "see that the chain only grew."
)
class AuditCheckpoint:
    chain: str = strawberry.field(
        description="The chained table: `audit_log` or `credit_transactions`."
    )
    head: str = strawberry.field(
        description="SHA-256 (hex) of the newest row; 64 zeros for an empty chain."
    )
    count: int = strawberry.field(description="How many rows the chain holds.")
    at: datetime | None = strawberry.field(
        description="When the newest row was appended; null for an empty chain."
    )
