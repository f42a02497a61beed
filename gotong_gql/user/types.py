from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from gotong_gql import policy
from gotong_gql.graphql.context import Context
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
)
from gotong_gql.keyset import QuerySource
from gotong_gql.oidc.types import OidcIdentityType
from gotong_gql.reputation.types import ReputationType
from gotong_gql.skill.types import UserSkillType
from gotong_gql.task import queries as task_queries
from gotong_gql.user.models import User
from gotong_gql.vouch import rules as vouch_rules

if TYPE_CHECKING:
    from gotong_gql.contribution.types import ContributionType
    from gotong_gql.credit.types import CreditAccountType
    from gotong_gql.task.types import TaskType
    from gotong_gql.vouch.types import VouchType

TaskRef = Annotated["TaskType", strawberry.lazy("gotong_gql.task.types")]
ContributionRef = Annotated["ContributionType", strawberry.lazy("gotong_gql.contribution.types")]
VouchRef = Annotated["VouchType", strawberry.lazy("gotong_gql.vouch.types")]
CreditAccountRef = Annotated["CreditAccountType", strawberry.lazy("gotong_gql.credit.types")]


@strawberry.enum(description="What a user may do beyond what everyone may.")
class Role(Enum):
    CONTRIBUTOR = strawberry.enum_value(
        "contributor", description="Everyone: claims and does tasks, records work, vouches."
    )
    ORGANIZER = strawberry.enum_value("organizer", description="Creates and assigns tasks.")
    VERIFIER = strawberry.enum_value(
        "verifier", description="Verifies other people's contributions and sees their evidence."
    )
    ADMIN = strawberry.enum_value(
        "admin", description="Everything: roles, any task, the webhook outbox and dead letters."
    )


@strawberry.type(
    name="User",
    description="A member of the platform; the public profile is visible to every signed-in user.",
)
class UserType(relay.Node):
    id: relay.NodeID[str]
    username: str = strawberry.field(
        description="Unique (in any case), 3 to 50 of letters, digits and `_.-`."
    )
    bio: str | None = strawberry.field(description="At most 500 characters; null if unset.")
    location: str | None = strawberry.field(description="Where, in words; null if unset.")
    avatar_url: str | None = strawberry.field(description="An http(s) URL; null if unset.")
    markov_user_id: str = strawberry.field(
        description="The Markov Engine's name for the user: `gotong_royong:<uuid>`."
    )
    created_at: datetime = strawberry.field(description="When the account was registered.")
    updated_at: datetime = strawberry.field(description="When the profile last changed.")
    row: strawberry.Private[User]

    @classmethod
    def from_row(cls, row: User) -> UserType:
        return cls(
            id=str(row.id),
            username=row.username,
            bio=row.bio,
            location=row.location,
            avatar_url=row.avatar_url,
            markov_user_id=row.markov_user_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await load_nodes(info, User, node_ids, cls.from_row)

    @strawberry.field(description="Visible to the user and to admins only; null for others.")
    async def email(self, info: strawberry.Info[Context, None]) -> str | None:
        viewer = await info.context.viewer()
        if viewer is not None and (viewer.id == self.row.id or viewer.is_admin):
            return self.row.email
        return None

    @strawberry.field(
        description="The OpenID Connect identities that sign in to this account, oldest first; "
        "visible to the user and to admins only (null for others), like `email`."
    )
    async def identities(
        self, info: strawberry.Info[Context, None]
    ) -> list[OidcIdentityType] | None:
        viewer = await info.context.viewer()
        if viewer is None or not policy.OWN_ACCOUNT.allows(self.row, viewer.id, viewer.roles):
            return None
        rows = await info.context.loaders.identities_by_user_id.load(self.row.id)
        return [OidcIdentityType.from_row(row) for row in rows]

    @strawberry.field(
        description="The user's time-credit account: visible to the user and to admins only; "
        "null for others."
    )
    async def credit_account(self, info: strawberry.Info[Context, None]) -> CreditAccountRef | None:
        from gotong_gql.credit.types import CreditAccountType, may_see

        account = await info.context.loaders.credit_accounts_by_user_id.load(self.row.id)
        if account is None or not may_see(await info.context.actor(), account):
            return None
        return CreditAccountType.from_row(account)

    @strawberry.field(description="Every user is a CONTRIBUTOR; admins grant the other roles.")
    def roles(self, info: strawberry.Info[Context, None]) -> list[Role]:
        return now_or_later(info.context.loaders.roles_by_user_id.load(self.row.id), _roles)

    @strawberry.field(description="At most 50: declared, or shown by verified work or vouches.")
    def skills(self, info: strawberry.Info[Context, None]) -> list[UserSkillType]:
        loaded = info.context.loaders.user_skills_by_user_id.load(self.row.id)
        return now_or_later(loaded, _user_skills)

    @strawberry.field(description="From the Markov Engine, cached; null if never known.")
    async def reputation(self, info: strawberry.Info[Context, None]) -> ReputationType | None:
        loader = info.context.loaders.reputations_by_user
        value = await loader.load((self.row.id, self.row.markov_user_id))
        return ReputationType.from_value(value) if value else None

    @strawberry.field(
        description="Whether `vouchCreate` would accept the viewer vouching for this user (not "
        "oneself; with VOUCH_MIN_REPUTATION set, a cached reputation at least that high). A "
        "skill the viewer already vouched for is still DUPLICATE_VOUCH."
    )
    async def viewer_can_vouch(self, info: strawberry.Info[Context, None]) -> bool:
        context = info.context
        viewer_id = context.user_id
        if viewer_id is None:
            return False
        minimum = context.services.settings.vouch_min_reputation
        score = None
        if minimum > 0 and not vouch_rules.is_self(self.row.id, viewer_id):
            reputation = await context.actor_reputation()
            score = reputation.score if reputation else None
        return vouch_rules.may_vouch_for(self.row.id, viewer_id, score, minimum)

    @strawberry.field(description="The user's contributions, newest first.")
    async def contributions(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[ContributionRef]:
        from gotong_gql.contribution import service as contributions
        from gotong_gql.contribution.types import ContributionType

        listing = contributions.contribution_listing(
            contributions.ContributionFilter(user_id=self.row.id)
        )
        return await paginate(
            QuerySource(listing, info.context.db),
            PageArgs(first, after, last, before),
            ContributionType.from_row,
            nested=True,
        )

    @strawberry.field(description="Endorsements this user received, newest first.")
    async def vouches_received(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[VouchRef]:
        from gotong_gql.vouch.resolvers import vouch_connection
        from gotong_gql.vouch.service import VouchFilter

        pages = PageArgs(first, after, last, before)
        return await vouch_connection(info, VouchFilter(vouchee_id=self.row.id), pages, True)

    @strawberry.field(description="Endorsements this user gave, newest first.")
    async def vouches_given(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[VouchRef]:
        from gotong_gql.vouch.resolvers import vouch_connection
        from gotong_gql.vouch.service import VouchFilter

        pages = PageArgs(first, after, last, before)
        return await vouch_connection(info, VouchFilter(voucher_id=self.row.id), pages, True)

    @strawberry.field(description="Tasks this user created, newest first.")
    async def tasks_created(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[TaskRef]:
        pages = PageArgs(first, after, last, before)
        return await _tasks(info, task_queries.TaskFilter(creator_id=self.row.id), pages)

    @strawberry.field(description="Tasks assigned to this user now, newest first.")
    async def tasks_assigned(
        self,
        info: strawberry.Info[Context, None],
        first: NestedFirst = None,
        after: After = None,
        last: NestedLast = None,
        before: Before = None,
    ) -> Connection[TaskRef]:
        pages = PageArgs(first, after, last, before)
        return await _tasks(info, task_queries.TaskFilter(assignee_id=self.row.id), pages)


def _roles(granted: frozenset[str]) -> list[Role]:
    return [Role.CONTRIBUTOR, *(role for role in Role if role.value in granted)]


def _user_skills(rows: list[Any]) -> list[UserSkillType]:
    return [UserSkillType.from_rows(user_skill, skill) for user_skill, skill in rows]


async def _tasks(
    info: strawberry.Info[Context, None], task_filter: task_queries.TaskFilter, pages: PageArgs
) -> Connection[Any]:
    from gotong_gql.task.types import TaskType

    listing = task_queries.task_listing(task_filter, task_queries.TaskOrder())
    connection = await paginate(
        QuerySource(listing, info.context.db), pages, TaskType.from_row, nested=True
    )
    await TaskType.prefetch(info, [edge.node.row for edge in connection.edges])
    return connection
