from __future__ import annotations

import strawberry

from gotong_gql.audit.types import AuditCheckpoint
from gotong_gql.audit.verify import checkpoints
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import ApiError
from gotong_gql.graphql.permissions import IsAuthenticated


@strawberry.type
class AuditQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The head of each hash chain (audit entries, credit transactions); admins "
        "only. `gotong-gql audit verify` checks the chains against their heads.",
    )
    async def audit_checkpoint(self, info: strawberry.Info[Context, None]) -> list[AuditCheckpoint]:
        viewer = await info.context.require_viewer()
        if not viewer.is_admin:
            raise ApiError("FORBIDDEN", "admins only")
        async with info.context.db() as session:
            heads = await checkpoints(session)
        return [
            AuditCheckpoint(chain=head.chain, head=head.head, count=head.count, at=head.at)
            for head in heads
        ]
