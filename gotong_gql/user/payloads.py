"""The account mutations' inputs, payloads and error codes."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gotong_gql.graphql.errors import CODE, ERRORS, UserError, error_code_enum
from gotong_gql.user import codes, service
from gotong_gql.user.models import User
from gotong_gql.user.types import Role, UserType

AccountErrorCode = error_code_enum(
    codes.AccountErrorCode, "Why an account or token mutation refused."
)


@strawberry.type(description="Why an account or token mutation refused; nothing was written.")
class AccountError(UserError):
    code: AccountErrorCode = strawberry.field(description=CODE)


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
