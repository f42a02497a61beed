from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from gotong_gql.errors import DomainError
from gotong_gql.graphql.context import Context
from gotong_gql.graphql.errors import (
    CODE,
    ERRORS,
    Input,
    UserError,
    error_code,
    payload_errors,
    query_error,
)
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.graphql.inputs import input_data
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
from gotong_gql.user import roles as role_service
from gotong_gql.user import service
from gotong_gql.user.models import User
from gotong_gql.user.types import Role, UserType

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Why an account or token mutation refused.")
class AccountErrorCode(Enum):
    INVALID_INPUT = error_code("INVALID_INPUT")
    USERNAME_TAKEN = error_code("USERNAME_TAKEN", "Another account has this username.")
    EMAIL_TAKEN = error_code("EMAIL_TAKEN", "Another account has this email.")
    INVALID_CREDENTIALS = error_code(
        "INVALID_CREDENTIALS", "Wrong login or password (the same code for either)."
    )
    INVALID_TOKEN = error_code("INVALID_TOKEN", "The refresh token is malformed or not ours.")
    TOKEN_EXPIRED = error_code("TOKEN_EXPIRED", "The refresh token has expired: log in again.")
    TOKEN_REVOKED = error_code("TOKEN_REVOKED", "The refresh token was revoked (logged out).")
    TOKEN_REUSED = error_code(
        "TOKEN_REUSED", "A rotated refresh token came back: its whole login is now revoked."
    )
    NOT_FOUND = error_code("NOT_FOUND", "No user has the `userId`.")
    FORBIDDEN = error_code("FORBIDDEN", "Only admins grant and revoke roles.")
    INVALID_ROLE = error_code("INVALID_ROLE", "CONTRIBUTOR is everyone's; it is not granted.")
    LAST_ADMIN = error_code("LAST_ADMIN", "The last admin keeps the ADMIN role.")
    OIDC_PROVIDER_UNKNOWN = strawberry.enum_value(
        "OIDC_PROVIDER_UNKNOWN", description="No OpenID Connect provider has this name."
    )
    OIDC_REDIRECT_NOT_ALLOWED = strawberry.enum_value(
        "OIDC_REDIRECT_NOT_ALLOWED", description="The redirect URI is not in OIDC_REDIRECT_URIS."
    )
    OIDC_STATE_INVALID = strawberry.enum_value(
        "OIDC_STATE_INVALID",
        description="The state is unknown, expired (10 minutes), already used, another "
        "provider's, or (for a link) not started by the signed-in user; checked before the code "
        "is redeemed.",
    )
    OIDC_TOKEN_INVALID = strawberry.enum_value(
        "OIDC_TOKEN_INVALID",
        description="The provider refused the code, or its ID token failed a check (signature, "
        "iss, aud, exp, iat, nonce).",
    )
    OIDC_EMAIL_UNVERIFIED = strawberry.enum_value(
        "OIDC_EMAIL_UNVERIFIED",
        description="A new account needs an email the provider says is verified.",
    )
    OIDC_ACCOUNT_EXISTS = strawberry.enum_value(
        "OIDC_ACCOUNT_EXISTS",
        description="An account has this email (its owner links the provider with "
        "oidcIdentityLink), or the identity is linked elsewhere.",
    )
    OIDC_PROVIDER_UNAVAILABLE = strawberry.enum_value(
        "OIDC_PROVIDER_UNAVAILABLE",
        description="The provider did not answer within OIDC_TIMEOUT_SECONDS (10 s), or "
        "answered with an error.",
    )
    OIDC_LAST_LOGIN = strawberry.enum_value(
        "OIDC_LAST_LOGIN",
        description="The identity is the account's last way to sign in (no password, no other "
        "identity).",
    )


@strawberry.type(description="Why an account or token mutation refused; nothing was written.")
class AccountError(UserError):
    code: AccountErrorCode = strawberry.field(description=CODE)


def account_errors(exc: DomainError) -> list[AccountError]:
    return payload_errors(AccountError, AccountErrorCode, exc)


@strawberry.input(description="A new account.")
class AccountRegisterInput:
    username: str = strawberry.field(description="3 to 50 of letters, digits and `_.-`.")
    email: str = strawberry.field(description="Unique; visible to the user and admins only.")
    password: str = strawberry.field(description="8 to 256 characters; never returned.")


@strawberry.type(description="The result of `accountRegister`.")
class AccountRegisterPayload:
    user: UserType | None = strawberry.field(description="The new user; null when refused.")
    errors: list[AccountError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Changes to the viewer's profile; only the fields given change.")
class AccountUpdateInput:
    bio: str | None = strawberry.field(default=strawberry.UNSET, description="At most 500.")
    location: str | None = strawberry.field(default=strawberry.UNSET, description="At most 200.")
    avatar_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="An http(s) URL (https in production)."
    )
    skills: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the declared skills (names, as slugs)."
    )


@strawberry.type(description="The result of `accountUpdate`.")
class AccountUpdatePayload:
    user: UserType | None = strawberry.field(description="The viewer, updated; null when refused.")
    errors: list[AccountError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Credentials to log in with.")
class TokenCreateInput:
    login: str = strawberry.field(description="Email or username.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="The refresh token to trade.")
class TokenRefreshInput:
    refresh_token: str = strawberry.field(description="The latest refresh token of the login.")


@strawberry.input(description="The login to end.")
class TokenRevokeInput:
    refresh_token: str = strawberry.field(description="A refresh token of the login.")
    all_sessions: bool = strawberry.field(
        default=False, description="Revoke every session of the user, not only this login's."
    )


@strawberry.type(description="Access token (15 min) and refresh token (7 days, single use).")
class TokenPayload:
    access_token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <token>`; null when refused."
    )
    access_token_expires_at: datetime | None = strawberry.field(
        default=None, description="When the access token stops working."
    )
    refresh_token: str | None = strawberry.field(
        default=None, description="For `tokenRefresh`, once; null when refused."
    )
    refresh_token_expires_at: datetime | None = strawberry.field(
        default=None, description="When the refresh token stops working."
    )
    user: UserType | None = strawberry.field(default=None, description="Who is logged in.")
    errors: list[AccountError] = strawberry.field(default_factory=list, description=ERRORS)

    @classmethod
    def issued(cls, pair: service.TokenPair, user: User) -> TokenPayload:
        return cls(
            access_token=pair.access.token,
            access_token_expires_at=pair.access.claims.expires_at,
            refresh_token=pair.refresh.token,
            refresh_token_expires_at=pair.refresh.claims.expires_at,
            user=UserType.from_row(user),
        )


@strawberry.type(description="The result of `tokenCreate`: a new login's tokens.")
class TokenCreatePayload(TokenPayload):
    pass


@strawberry.type(description="The result of `tokenRefresh`: the login's next tokens.")
class TokenRefreshPayload(TokenPayload):
    pass


@strawberry.type(description="The result of `tokenRevoke`.")
class TokenRevokePayload:
    revoked: bool = strawberry.field(description="True when the login (or all) ended.")
    errors: list[AccountError] = strawberry.field(description=ERRORS)


@strawberry.input(description="A role of a user.")
class AccountRoleInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    role: Role = strawberry.field(description="ORGANIZER, VERIFIER or ADMIN.")


@strawberry.type(description="The result of `accountRoleGrant`.")
class AccountRoleGrantPayload:
    user: UserType | None = strawberry.field(description="The user, with the role; null if not.")
    errors: list[AccountError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of `accountRoleRevoke`.")
class AccountRoleRevokePayload:
    user: UserType | None = strawberry.field(description="The user, without it; null if refused.")
    errors: list[AccountError] = strawberry.field(description=ERRORS)


@strawberry.input(description="Which users to list; the fields given must all match.")
class UserFilterInput:
    search: str | None = strawberry.field(default=None, description="In username and bio.")
    skill: str | None = strawberry.field(
        default=None, description="Only users with this skill, most proficient first."
    )


@strawberry.input(one_of=True, description="Exactly one of `id` and `username`.")
class UserByInput:
    id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET, description="The id.")
    username: str | None = strawberry.field(
        default=strawberry.UNSET, description="The username, in any case."
    )


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
            registration = await service.prepare_registration(input_data(input))
            async with info.context.unit_of_work(None) as uow:
                user = await service.register(uow, registration)
        except DomainError as exc:
            return AccountRegisterPayload(user=None, errors=account_errors(exc))
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
            return TokenCreatePayload(errors=account_errors(exc))
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
            return TokenRefreshPayload(errors=account_errors(reuse))
        except DomainError as exc:
            return TokenRefreshPayload(errors=account_errors(exc))
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
            return TokenRevokePayload(revoked=False, errors=account_errors(exc))
        return TokenRevokePayload(revoked=True, errors=[])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Change the viewer's own profile."
    )
    async def account_update(
        self, info: Info, input: Input[AccountUpdateInput]
    ) -> AccountUpdatePayload:
        context = info.context
        viewer = await context.require_viewer()
        try:
            async with context.unit_of_work(viewer) as uow:
                user = await service.update_profile(
                    uow,
                    viewer.user,
                    input_data(input),
                    https_only=context.services.settings.is_production,
                )
        except DomainError as exc:
            return AccountUpdatePayload(user=None, errors=account_errors(exc))
        return AccountUpdatePayload(user=UserType.from_row(user), errors=[])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Admins only: give a role."
    )
    async def account_role_grant(
        self, info: Info, input: Input[AccountRoleInput]
    ) -> AccountRoleGrantPayload:
        context = info.context
        viewer = await context.require_viewer()
        try:
            async with context.unit_of_work(viewer) as uow:
                user, roles = await role_service.grant_role(
                    uow,
                    viewer.roles,
                    parse_global_id(input.user_id, "User", "userId"),
                    input.role.value,
                )
        except DomainError as exc:
            return AccountRoleGrantPayload(user=None, errors=account_errors(exc))
        context.loaders.roles_by_user_id.prime(user.id, roles, force=True)
        return AccountRoleGrantPayload(user=UserType.from_row(user), errors=[])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Admins only: take a role away."
    )
    async def account_role_revoke(
        self, info: Info, input: Input[AccountRoleInput]
    ) -> AccountRoleRevokePayload:
        context = info.context
        viewer = await context.require_viewer()
        try:
            async with context.unit_of_work(viewer) as uow:
                user, roles = await role_service.revoke_role(
                    uow,
                    viewer.roles,
                    parse_global_id(input.user_id, "User", "userId"),
                    input.role.value,
                )
        except DomainError as exc:
            return AccountRoleRevokePayload(user=None, errors=account_errors(exc))
        context.loaders.roles_by_user_id.prime(user.id, roles, force=True)
        return AccountRoleRevokePayload(user=UserType.from_row(user), errors=[])
