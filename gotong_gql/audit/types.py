from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gotong_gql.audit.models import AuditLog
from gotong_gql.graphql.context import Context
from gotong_gql.user.types import UserType


@strawberry.type(
    name="AuditEntry", description="One recorded change: who did what, before and after."
)
class AuditEntryType:
    action: str
    entity: str
    before: JSON | None
    after: JSON | None
    at: datetime
    request_id: str | None
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

    @strawberry.field
    async def actor(self, info: strawberry.Info[Context, None]) -> UserType | None:
        if self.row.actor_id is None:
            return None
        user: Any = await info.context.loaders.users_by_id.load(self.row.actor_id)
        return UserType.from_row(user) if user else None
