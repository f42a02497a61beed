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
from gotong_gql.contribution.resolvers import (
    ContributionMutations,
    ContributionQueries,
    VerificationMutations,
)
from gotong_gql.credit.resolvers import CreditMutations, CreditQueries, CreditSubscriptions
from gotong_gql.evidence.resolvers import (
    EvidenceMutations,
    EvidenceQueries,
    EvidenceSubscriptions,
)
from gotong_gql.graphql.errors import ErrorReporting
from gotong_gql.graphql.limits.extension import QueryGuard
from gotong_gql.graphql.nodes import resolve_global_ids
from gotong_gql.graphql.observability import Observability
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.graphql.scalars import DATE_TIME
from gotong_gql.oidc.resolvers import OidcMutations, OidcQueries
from gotong_gql.task.completion_resolvers import TaskCompletionMutations
from gotong_gql.task.resolvers import TaskMutations, TaskQueries, TaskSubscriptions
from gotong_gql.user.resolvers import AccountMutations, AccountQueries
from gotong_gql.vouch.resolvers import VouchMutations, VouchQueries
from gotong_gql.webhook.resolvers import WebhookMutations, WebhookQueries


@strawberry.type
class NodeQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Any object by its global id; null when it does not exist, is not a Node or "
        "is not visible to the viewer.",
    )
    async def node(
        self,
        info: strawberry.Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")],
    ) -> relay.Node | None:
        (found,) = await resolve_global_ids(info, [id])
        return found

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Objects by their global ids, in the same order; null in place of each one "
        "`node` would answer null for.",
    )
    async def nodes(
        self,
        info: strawberry.Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="The IDs of the objects.")
        ],
    ) -> list[relay.Node | None]:
        return await resolve_global_ids(info, ids)


def _described(merged: type, description: str) -> type:
    # merge_types takes no description; the merged type's definition carries it.
    merged.__strawberry_definition__.description = description  # type: ignore[attr-defined]
    return merged


Query = _described(
    merge_types(
        "Query",
        (
            NodeQueries,
            AccountQueries,
            OidcQueries,
            TaskQueries,
            ContributionQueries,
            EvidenceQueries,
            VouchQueries,
            WebhookQueries,
            CreditQueries,
            AuditQueries,
        ),
    ),
    "What can be read. Everything needs a signed-in user (`Authorization: Bearer <access "
    "token>`) except `me`.",
)
Mutation = _described(
    merge_types(
        "Mutation",
        (
            AccountMutations,
            OidcMutations,
            TaskMutations,
            ContributionMutations,
            TaskCompletionMutations,
            VerificationMutations,
            EvidenceMutations,
            VouchMutations,
            WebhookMutations,
            CreditMutations,
        ),
    ),
    "What can be changed, noun first. Each takes one `input` and answers a payload whose "
    "`errors` is empty on success; a refused mutation writes nothing.",
)
Subscription = _described(
    merge_types("Subscription", (TaskSubscriptions, EvidenceSubscriptions, CreditSubscriptions)),
    "Live updates over WebSocket (`graphql-transport-ws`) or Server-Sent Events, each event "
    "filtered by what the viewer may see.",
)

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[ErrorReporting, ParserCache, ValidationCache, QueryGuard, Observability],
    config=StrawberryConfig(scalar_map={datetime: DATE_TIME}),
)
