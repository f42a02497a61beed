"""The account mutations' inputs, payloads and error codes."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from gotong_gql.errors import DomainError
from gotong_gql.graphql.errors import CODE, ERRORS, UserError, error_code, payload_errors
from gotong_gql.user import service
from gotong_gql.user.models import User
from gotong_gql.user.types import Role, UserType


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
