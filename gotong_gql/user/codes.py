"""The codes an account, token or OpenID Connect mutation refuses with."""

from __future__ import annotations

from gotong_gql.errors import ErrorCode


class AccountErrorCode(ErrorCode):
    INVALID_INPUT = "INVALID_INPUT"
    USERNAME_TAKEN = "USERNAME_TAKEN", "Another account has this username."
    EMAIL_TAKEN = "EMAIL_TAKEN", "Another account has this email."
    INVALID_CREDENTIALS = (
        "INVALID_CREDENTIALS",
        "Wrong login or password (the same code for either).",
    )
    INVALID_TOKEN = "INVALID_TOKEN", "The refresh token is malformed or not ours."
    TOKEN_EXPIRED = "TOKEN_EXPIRED", "The refresh token has expired: log in again."
    TOKEN_REVOKED = "TOKEN_REVOKED", "The refresh token was revoked (logged out)."
    TOKEN_REUSED = (
        "TOKEN_REUSED",
        "A rotated refresh token came back: its whole login is now revoked.",
    )
    NOT_FOUND = "NOT_FOUND", "No user has the `userId`."
    FORBIDDEN = "FORBIDDEN", "Only admins grant and revoke roles."
    INVALID_ROLE = "INVALID_ROLE", "CONTRIBUTOR is everyone's; it is not granted."
    LAST_ADMIN = "LAST_ADMIN", "The last admin keeps the ADMIN role."
    OIDC_PROVIDER_UNKNOWN = "OIDC_PROVIDER_UNKNOWN", "No OpenID Connect provider has this name."
    OIDC_REDIRECT_NOT_ALLOWED = (
        "OIDC_REDIRECT_NOT_ALLOWED",
        "The redirect URI is not in OIDC_REDIRECT_URIS.",
    )
    OIDC_STATE_INVALID = (
        "OIDC_STATE_INVALID",
        "The state is unknown, expired (10 minutes), already used, another provider's, or (for "
        "a link) not started by the signed-in user; checked before the code is redeemed.",
    )
    OIDC_TOKEN_INVALID = (
        "OIDC_TOKEN_INVALID",
        "The provider refused the code, or its ID token failed a check (signature, iss, aud, "
        "exp, iat, nonce).",
    )
    OIDC_EMAIL_UNVERIFIED = (
        "OIDC_EMAIL_UNVERIFIED",
        "A new account needs an email the provider says is verified.",
    )
    OIDC_ACCOUNT_EXISTS = (
        "OIDC_ACCOUNT_EXISTS",
        "An account has this email (its owner links the provider with oidcIdentityLink), or the"
        " identity is linked elsewhere.",
    )
    OIDC_PROVIDER_UNAVAILABLE = (
        "OIDC_PROVIDER_UNAVAILABLE",
        "The provider did not answer within OIDC_TIMEOUT_SECONDS (10 s), or answered with an "
        "error.",
    )
    OIDC_LAST_LOGIN = (
        "OIDC_LAST_LOGIN",
        "The identity is the account's last way to sign in (no password, no other identity).",
    )
