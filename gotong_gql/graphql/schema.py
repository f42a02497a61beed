"""The schema: each domain's queries, mutations and subscriptions merged into one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from gotong_gql.audit.resolvers import AuditQueries
from gotong_gql.contribution.resolvers import ContributionMutations, ContributionQueries
from gotong_gql.credit.resolvers import CreditMutations, CreditQueries, CreditSubscriptions
from gotong_gql.evidence.resolvers import (
    EvidenceMutations,
    EvidenceQueries,
    EvidenceSubscriptions,
)
from gotong_gql.graphql.errors import ErrorReporting
from gotong_gql.graphql.limits import QueryGuard
from gotong_gql.graphql.nodes import resolve_global_ids
from gotong_gql.graphql.observability import Observability
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.graphql.scalars import DATE_TIME
from gotong_gql.task.resolvers import TaskMutations, TaskQueries, TaskSubscriptions
from gotong_gql.user.resolvers import AccountMutations, AccountQueries
from gotong_gql.vouch.resolvers import VouchMutations, VouchQueries
from gotong_gql.webhook.resolvers import WebhookMutations, WebhookQueries


@strawberry.type
class NodeQueries:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def node(
        self,
        info: strawberry.Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")],
    ) -> relay.Node | None:
        (found,) = await resolve_global_ids(info, [id])
        return found

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def nodes(
        self,
        info: strawberry.Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="The IDs of the objects.")
        ],
    ) -> list[relay.Node | None]:
        return await resolve_global_ids(info, ids)


Query = merge_types(
    "Query",
    (
        NodeQueries,
        AccountQueries,
        TaskQueries,
        ContributionQueries,
        EvidenceQueries,
        VouchQueries,
        WebhookQueries,
        CreditQueries,
        AuditQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        TaskMutations,
        ContributionMutations,
        EvidenceMutations,
        VouchMutations,
        WebhookMutations,
        CreditMutations,
    ),
)
Subscription = merge_types(
    "Subscription", (TaskSubscriptions, EvidenceSubscriptions, CreditSubscriptions)
)

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[ErrorReporting, ParserCache, ValidationCache, QueryGuard, Observability],
    config=StrawberryConfig(scalar_map={datetime: DATE_TIME}),
)
