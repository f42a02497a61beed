from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import strawberry

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context, Viewer
from gotong_gql.graphql.errors import (
    Input,
    query_error,
)
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
from gotong_gql.graphql.mutations import refused, run_mutation
from gotong_gql.graphql.pagination import (
    After,
    Before,
    Connection,
    Filter,
    First,
    Last,
    PageArgs,
    paginate,
)
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.keyset import QuerySource
from gotong_gql.skill import service as skill_service
from gotong_gql.skill.types import SkillType
from gotong_gql.uow import UnitOfWork
from gotong_gql.user import registration, service
from gotong_gql.user import roles as role_service
from gotong_gql.user.models import User
from gotong_gql.user.payloads import (
    AccountRegisterInput,
    AccountRegisterPayload,
    AccountRoleGrantPayload,
    AccountRoleInput,
    AccountRoleRevokePayload,
    AccountUpdateInput,
    AccountUpdatePayload,
    TokenCreateInput,
    TokenCreatePayload,
    TokenRefreshInput,
    TokenRefreshPayload,
    TokenRevokeInput,
    TokenRevokePayload,
    UserByInput,
    UserFilterInput,
)
from gotong_gql.user.types import UserType

Info = strawberry.Info[Context, None]


@strawberry.type
class AccountQueries:
    @strawberry.field(
        description="The signed-in user; null without a token. An expired or invalid token is "
        "UNAUTHENTICATED (`reason`: TOKEN_EXPIRED or INVALID_TOKEN), as on every other field, "
        "so that an app can tell an expired session from a logged-out one."
    )
    async def me(self, info: Info) -> UserType | None:
        if not info.context.token:
            return None
        viewer = await info.context.require_viewer()
        return UserType.from_row(viewer.user)

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="By id or by username; null when there is no such user.",
    )
    async def user(
        self,
        info: Info,
        by: Annotated[UserByInput, strawberry.argument(description="Which user.")],
    ) -> UserType | None:
        username = by.username or None
        try:
            user_id = parse_global_id(by.id, "User", "by.id") if by.id else None
        except DomainError:
            return None
        async with info.context.db() as session:
            user = await service.find_user(session, user_id=user_id, username=username)
        return UserType.from_row(user) if user else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Users by username (with `filter.skill`, most proficient first).",
    )
    async def users(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[UserFilterInput] = None,
    ) -> Connection[UserType]:
        wanted = filter or UserFilterInput()
        try:
            listing = service.user_listing(search=wanted.search, skill=wanted.skill)
        except DomainError as exc:
            raise query_error(exc) from None
        return await paginate(
            QuerySource(listing, info.context.db),
            PageArgs(first, after, last, before),
            UserType.from_row,
        )

    @strawberry.field(permission_classes=[IsAuthenticated], description="Skills, by name.")
    async def skills(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the name, in any case.")
        ] = None,
    ) -> Connection[SkillType]:
        return await paginate(
            QuerySource(skill_service.skill_listing(search), info.context.db),
            PageArgs(first, after, last, before),
            SkillType.from_row,
        )


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Sign up; log in with `tokenCreate` afterwards.")
    async def account_register(
        self, info: Info, input: Input[AccountRegisterInput]
    ) -> AccountRegisterPayload:
        try:
            prepared = await registration.prepare_registration(input_data(input))
            async with info.context.unit_of_work(None) as uow:
                user = await registration.register(uow, prepared)
        except DomainError as exc:
            return refused(AccountRegisterPayload, exc)
        return AccountRegisterPayload(user=UserType.from_row(user), errors=[])

    @strawberry.mutation(description="Log in with email or username and password.")
    async def token_create(self, info: Info, input: Input[TokenCreateInput]) -> TokenCreatePayload:
        context = info.context
        try:
            # The password check (Argon2) is a read, made before the unit of work's write lock.
            async with context.db() as session:
                user = await service.authenticate(session, input.login, input.password)
            async with context.unit_of_work(None) as uow:
                uow.actor_id = user.id
                pair = await service.issue_tokens(uow, context.services.tokens, user)
        except DomainError as exc:
            return refused(TokenCreatePayload, exc)
        return TokenCreatePayload.issued(pair, user)

    @strawberry.mutation(description="Trade a refresh token for a new pair; each works once.")
    async def token_refresh(
        self, info: Info, input: Input[TokenRefreshInput]
    ) -> TokenRefreshPayload:
        context = info.context
        try:
            async with context.unit_of_work(None) as uow:
                pair = await service.rotate_refresh_token(
                    uow, context.services.tokens, input.refresh_token
                )
                user = await uow.session.get(User, pair.access.claims.user_id)
        except service.RefreshTokenReused as reuse:
            # A stolen token was replayed: end every session of this login, then refuse.
            async with context.unit_of_work(None) as uow:
                await service.revoke_family(uow, reuse.family_id)
            return refused(TokenRefreshPayload, reuse)
        except DomainError as exc:
            return refused(TokenRefreshPayload, exc)
        return TokenRefreshPayload.issued(pair, user)

    @strawberry.mutation(description="Log out: revoke the refresh token's login (or all).")
    async def token_revoke(self, info: Info, input: Input[TokenRevokeInput]) -> TokenRevokePayload:
        context = info.context
        try:
            async with context.unit_of_work(None) as uow:
                await service.revoke_refresh_token(
                    uow,
                    context.services.tokens,
                    input.refresh_token,
                    all_sessions=input.all_sessions,
                )
        except DomainError as exc:
            return refused(TokenRevokePayload, exc, revoked=False)
        return TokenRevokePayload(revoked=True, errors=[])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Change the viewer's own profile."
    )
    async def account_update(
        self, info: Info, input: Input[AccountUpdateInput]
    ) -> AccountUpdatePayload:
        https_only = info.context.services.settings.is_production

        async def work(uow: UnitOfWork, viewer: Viewer) -> User:
            return await service.update_profile(
                uow, viewer.user, input_data(input), https_only=https_only
            )

        return await run_mutation(
            info,
            AccountUpdatePayload,
            work,
            lambda user: AccountUpdatePayload(user=UserType.from_row(user), errors=[]),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Admins only: give a role."
    )
    async def account_role_grant(
        self, info: Info, input: Input[AccountRoleInput]
    ) -> AccountRoleGrantPayload:

        async def work(uow: UnitOfWork, viewer: Viewer) -> tuple[User, frozenset[str]]:
            user_id = parse_global_id(input.user_id, "User", "userId")
            return await role_service.grant_role(uow, viewer.roles, user_id, input.role.value)

        return await run_mutation(
            info, AccountRoleGrantPayload, work, _with_roles(info, AccountRoleGrantPayload)
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Admins only: take a role away."
    )
    async def account_role_revoke(
        self, info: Info, input: Input[AccountRoleInput]
    ) -> AccountRoleRevokePayload:

        async def work(uow: UnitOfWork, viewer: Viewer) -> tuple[User, frozenset[str]]:
            user_id = parse_global_id(input.user_id, "User", "userId")
            return await role_service.revoke_role(uow, viewer.roles, user_id, input.role.value)

        return await run_mutation(
            info, AccountRoleRevokePayload, work, _with_roles(info, AccountRoleRevokePayload)
        )


RolePayload = TypeVar("RolePayload", AccountRoleGrantPayload, AccountRoleRevokePayload)


def _with_roles(
    info: Info, payload: type[RolePayload]
) -> Callable[[tuple[User, frozenset[str]]], RolePayload]:
    """The payload of a role change; the request's later fields read the new roles."""

    def done(changed: tuple[User, frozenset[str]]) -> RolePayload:
        user, roles = changed
        info.context.loaders.roles_by_user_id.prime(user.id, roles, force=True)
        return payload(user=UserType.from_row(user), errors=[])

    return done
