"""Passwords (Argon2id) and tokens (JWT, HS256 pinned)."""

from __future__ import annotations

import time
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


# Access tokens checked lately, by their exact text: a client sends the same one with every
# request for its 15 minutes, and checking the signature and claims again costs more than the
# rest of a compiled read. Bounded; the oldest entry goes first.
CHECKED_ACCESS_TOKENS = 4096


class TokenCodec:
    """Signs and checks tokens: pinned algorithm, iss, aud, exp, nbf and token type.

    An access token that passed is remembered by its text (the text includes the signature, so
    another token never matches), and later presentations check only the times again."""

    def __init__(self, settings: Settings) -> None:
        self._checked: dict[str, tuple[TokenClaims, float]] = {}
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
        if expected_type == "access" and (hit := self._checked.get(token)) is not None:
            claims, not_before = hit
            now = time.time()
            if now > claims.expires_at.timestamp() + LEEWAY_SECONDS:
                self._checked.pop(token, None)
                raise TokenError("TOKEN_EXPIRED", "token has expired")
            if now < not_before - LEEWAY_SECONDS:
                raise TokenError("INVALID_TOKEN", f"not a valid {expected_type} token")
            return claims
        checked, not_before = self._check(token, expected_type)
        if expected_type == "access":
            if len(self._checked) >= CHECKED_ACCESS_TOKENS:
                self._checked.pop(next(iter(self._checked)), None)
            self._checked[token] = (checked, not_before)
        return checked

    def _check(self, token: str, expected_type: TokenType) -> tuple[TokenClaims, float]:
        """The claims and `nbf` of a token whose signature and claims hold now."""
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
            checked = TokenClaims(
                user_id=uuid.UUID(claims["sub"]),
                token_type=expected_type,
                jti=uuid.UUID(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                family_id=uuid.UUID(family) if family else None,
            )
            return checked, float(claims["nbf"])
        except ExpiredTokenError:
            raise TokenError("TOKEN_EXPIRED", "token has expired") from None
        except (JoseError, ValueError, KeyError, TypeError):
            raise TokenError("INVALID_TOKEN", f"not a valid {expected_type} token") from None
