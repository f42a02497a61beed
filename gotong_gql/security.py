"""Passwords (Argon2id) and tokens (JWT, HS256 pinned)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

from gotong_gql.settings import Settings

TOKEN_ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when a login names an unknown user, so that the timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# The password of an account made by an OpenID Connect sign-in: none matches it, and checking
# one costs the same Argon2 work as a wrong password, so a login does not tell such accounts apart.
UNUSABLE_PASSWORD = "!"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def has_password(password_hash: str | None) -> bool:
    return bool(password_hash) and password_hash != UNUSABLE_PASSWORD


def verify_password(password_hash: str | None, password: str) -> bool:
    usable = has_password(password_hash)
    try:
        return _hasher.verify(password_hash if usable else _DUMMY_HASH, password) and usable
    except (VerificationError, InvalidHashError):
        return False


# How late (seconds) a token's `exp` and early its `nbf` are still accepted: clocks differ.
LEEWAY_SECONDS = 5


def expired(claims: TokenClaims, now: datetime | None = None) -> bool:
    """Whether checked claims have expired since (`decode` tells at the time it checks)."""
    moment = now or datetime.now(UTC)
    return moment > claims.expires_at + timedelta(seconds=LEEWAY_SECONDS)


class TokenError(Exception):
    def __init__(self, code: Literal["INVALID_TOKEN", "TOKEN_EXPIRED"], message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    token_type: TokenType
    jti: uuid.UUID
    expires_at: datetime
    family_id: uuid.UUID | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: TokenClaims


class TokenCodec:
    """Signs and checks tokens: pinned algorithm, iss, aud, exp, nbf and token type."""

    def __init__(self, settings: Settings) -> None:
        self._key = OctKey.import_key(settings.jwt_signing_key)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl: dict[TokenType, timedelta] = {
            "access": timedelta(seconds=settings.access_token_ttl_seconds),
            "refresh": timedelta(seconds=settings.refresh_token_ttl_seconds),
        }

    def issue(
        self,
        user_id: uuid.UUID,
        token_type: TokenType,
        *,
        family_id: uuid.UUID | None = None,
        now: datetime | None = None,
    ) -> IssuedToken:
        now = now or datetime.now(UTC)
        jti = uuid.uuid4()
        expires_at = now + self._ttl[token_type]
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": str(jti),
            "typ": token_type,
        }
        if family_id is not None:
            claims["fam"] = str(family_id)
        token = jwt.encode({"alg": TOKEN_ALGORITHM, "typ": "JWT"}, claims, self._key)
        return IssuedToken(
            token,
            TokenClaims(user_id, token_type, jti, expires_at.replace(microsecond=0), family_id),
        )

    def decode(self, token: str, expected_type: TokenType) -> TokenClaims:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[TOKEN_ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                sub={"essential": True},
                exp={"essential": True},
                nbf={"essential": True},
                jti={"essential": True},
                typ={"essential": True, "value": expected_type},
            )
            registry.validate(decoded.claims)
            claims = decoded.claims
            family = claims.get("fam")
            return TokenClaims(
                user_id=uuid.UUID(claims["sub"]),
                token_type=expected_type,
                jti=uuid.UUID(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                family_id=uuid.UUID(family) if family else None,
            )
        except ExpiredTokenError:
            raise TokenError("TOKEN_EXPIRED", "token has expired") from None
        except (JoseError, ValueError, KeyError, TypeError):
            raise TokenError("INVALID_TOKEN", f"not a valid {expected_type} token") from None
