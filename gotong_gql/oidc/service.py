"""Flows and identities: the state of a flow kept 10 minutes and redeemed once, signing in (or
making an account), linking and unlinking.

A flow's state is redeemed by one `DELETE ... RETURNING` in its own transaction, committed
before the code goes to the provider: of two requests with one state, one gets the row and the
other nothing, on PostgreSQL (row lock) and SQLite (write lock) alike, and no transaction stays
open while a provider answers. So every redemption of a valid state spends it, whatever follows:
a refused exchange (bad token, unverified email, existing email, provider down) needs a new
oidcAuthorizationStart. Only the state's row is written before such a refusal.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gotong_gql.audit.service import record, snapshot
from gotong_gql.db import utcnow
from gotong_gql.errors import DomainError, not_found
from gotong_gql.oidc.client import VerifiedIdentity
from gotong_gql.oidc.models import OidcIdentity, OidcState
from gotong_gql.security import UNUSABLE_PASSWORD
from gotong_gql.uow import UnitOfWork
from gotong_gql.user.codes import AccountErrorCode
from gotong_gql.user.models import User
from gotong_gql.user.service import PROFILE_FIELDS, markov_user_id

STATE_LIFETIME = timedelta(minutes=10)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9_.-]+")
_states = OidcState.__table__
_identities = OidcIdentity.__table__


@dataclass(frozen=True)
class Flow:
    """A started flow: `state` goes to the client, the rest stays here."""

    state: str
    code_verifier: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class PendingFlow:
    provider: str
    redirect_uri: str
    code_verifier: str
    nonce: str
    user_id: uuid.UUID | None


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def new_flow() -> Flow:
    """A fresh state, PKCE verifier (RFC 7636: 43 to 128 characters) and nonce."""
    return Flow(
        state=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        nonce=secrets.token_urlsafe(32),
        expires_at=utcnow() + STATE_LIFETIME,
    )


async def save_flow(
    uow: UnitOfWork, flow: Flow, provider: str, redirect_uri: str, user_id: uuid.UUID | None
) -> None:
    """Keeps the flow until it expires; expired ones are swept on the way, so the table holds
    at most 10 minutes of starts."""
    await uow.session.execute(delete(_states).where(_states.c.expires_at <= utcnow()))
    uow.session.add(
        OidcState(
            state_hash=_digest(flow.state),
            provider=provider,
            redirect_uri=redirect_uri,
            code_verifier=flow.code_verifier,
            nonce=flow.nonce,
            user_id=user_id,
            expires_at=flow.expires_at,
        )
    )
    await uow.session.flush()


async def redeem_flow(
    uow: UnitOfWork, state: str, provider: str, *, owner: uuid.UUID | None = None
) -> PendingFlow:
    """Spends the state (unknown, expired, another provider's, or, for a link, another user's:
    OIDC_STATE_INVALID, and nothing is spent). With `owner`, only a flow that user started."""
    conditions = [
        _states.c.state_hash == _digest(state),
        _states.c.provider == provider,
        _states.c.expires_at > utcnow(),
    ]
    if owner is not None:
        conditions.append(_states.c.user_id == owner)
    row = (
        await uow.session.execute(
            delete(_states)
            .where(*conditions)
            .returning(
                _states.c.provider,
                _states.c.redirect_uri,
                _states.c.code_verifier,
                _states.c.nonce,
                _states.c.user_id,
            )
        )
    ).one_or_none()
    if row is None:
        raise DomainError(
            AccountErrorCode.OIDC_STATE_INVALID,
            "unknown, expired or already used state: start again with oidcAuthorizationStart",
            "state",
        )
    return PendingFlow(*row)


async def user_of_identity(session: AsyncSession, provider: str, subject: str) -> User | None:
    return await session.scalar(
        select(User)
        .join(OidcIdentity, OidcIdentity.user_id == User.id)
        .where(OidcIdentity.provider == provider, OidcIdentity.subject == subject)
    )


def _verified_email(identity: VerifiedIdentity) -> str:
    email = (identity.email or "").strip().lower()
    if not identity.email_verified or not _EMAIL.match(email) or len(email) > 320:
        raise DomainError(
            AccountErrorCode.OIDC_EMAIL_UNVERIFIED,
            "the provider did not vouch for an email address: verify it there first",
        )
    return email


async def sign_in(uow: UnitOfWork, provider: str, identity: VerifiedIdentity) -> User:
    """A known identity's user; or a new account for a verified email that no account has. An
    email that an account has is not signed in to: its owner links the identity (the provider
    says who owns the email now, not who owned it when the account was made)."""
    session = uow.session
    user = await user_of_identity(session, provider, identity.subject)
    if user is not None:
        return user
    email = _verified_email(identity)
    if await session.scalar(select(exists().where(User.email == email))):
        # A concurrent sign-in of the same person may have committed the account and its
        # identity since the first look (PostgreSQL reads each statement's own snapshot): then
        # the email is theirs, and so is the identity.
        user = await user_of_identity(session, provider, identity.subject)
        if user is not None:
            return user
        raise DomainError(
            AccountErrorCode.OIDC_ACCOUNT_EXISTS,
            "an account with this email exists: sign in to it and link the provider with "
            "oidcIdentityLink",
        )
    user_id = uuid.uuid4()
    user = User(
        id=user_id,
        username=await _free_username(session, identity, email),
        email=email,
        password_hash=UNUSABLE_PASSWORD,
        markov_user_id=markov_user_id(user_id),
    )
    session.add(user)
    await session.flush()
    uow.actor_id = user.id
    after = {**snapshot(user, PROFILE_FIELDS), "provider": provider}
    record(uow, "user.register", "user", user.id, after=after)
    await _add_identity(uow, user.id, provider, identity)
    return user


async def _free_username(session: AsyncSession, identity: VerifiedIdentity, email: str) -> str:
    """From `preferred_username`, else the email's local part, cut to the rules of usernames
    (3-50 of A-Z a-z 0-9 _ . -), with `-2`, `-3`, ... when taken (usernames are unique
    without regard to case). A concurrent sign-in that takes the same one first makes this
    insert fail on the unique index, and the resolver tries again."""
    wanted = identity.claims.get("preferred_username")
    raw = wanted if isinstance(wanted, str) and wanted.strip() else email.split("@", 1)[0]
    base = _NOT_USERNAME.sub("-", raw).strip("-.")[:40] or "member"
    base = base if len(base) >= 3 else f"{base}-member"
    lowered = base.lower()
    taken = set(
        await session.scalars(
            select(func.lower(User.username)).where(
                or_(
                    func.lower(User.username) == lowered,
                    func.lower(User.username).startswith(f"{lowered}-", autoescape=True),
                )
            )
        )
    )
    suffix = 1
    candidate = base
    while candidate.lower() in taken:
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


async def _add_identity(
    uow: UnitOfWork, user_id: uuid.UUID, provider: str, identity: VerifiedIdentity
) -> OidcIdentity:
    # Only an address the provider vouched for is shown as the identity's.
    email = (identity.email or "").strip().lower() if identity.email_verified else ""
    row = OidcIdentity(
        user_id=user_id, provider=provider, subject=identity.subject, email=email or None
    )
    uow.session.add(row)
    await uow.session.flush()
    record(
        uow,
        "user.identity_link",
        "user",
        user_id,
        after={"provider": provider, "subject": identity.subject},
    )
    return row


async def link(
    uow: UnitOfWork, user_id: uuid.UUID, provider: str, identity: VerifiedIdentity
) -> OidcIdentity:
    """The identity signs in to `user_id` from now on. Linking one already linked to this user
    changes nothing; one that signs in to someone else, or a second identity at a provider
    where the user has one, is OIDC_ACCOUNT_EXISTS."""
    session = uow.session
    owner = await session.scalar(
        select(OidcIdentity.user_id).where(
            OidcIdentity.provider == provider, OidcIdentity.subject == identity.subject
        )
    )
    if owner == user_id:
        linked = await session.scalar(
            select(OidcIdentity).where(
                OidcIdentity.provider == provider, OidcIdentity.user_id == user_id
            )
        )
        assert linked is not None
        return linked
    if owner is not None:
        raise DomainError(
            AccountErrorCode.OIDC_ACCOUNT_EXISTS,
            "this account at the provider signs in to another account",
        )
    has_one = await session.scalar(
        select(exists().where(OidcIdentity.provider == provider, OidcIdentity.user_id == user_id))
    )
    if has_one:
        raise DomainError(
            AccountErrorCode.OIDC_ACCOUNT_EXISTS,
            "your account is linked to another account at this provider: unlink it first",
            "provider",
        )
    return await _add_identity(uow, user_id, provider, identity)


async def unlink(uow: UnitOfWork, user_id: uuid.UUID, provider: str) -> None:
    """Removes the user's identity at `provider` if a way to sign in remains: a password or
    another identity. The user's row is locked first (PostgreSQL), and on SQLite the DELETE is
    the transaction's first statement and so holds the write lock while it checks: two unlinks
    of a user's last two identities cannot both pass."""
    session = uow.session
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    another_way = or_(
        exists().where(
            User.id == user_id,
            User.password_hash != UNUSABLE_PASSWORD,
            User.password_hash != "",
        ),
        exists().where(_identities.c.user_id == user_id, _identities.c.provider != provider),
    )
    removed = (
        await session.execute(
            delete(_identities)
            .where(
                _identities.c.user_id == user_id, _identities.c.provider == provider, another_way
            )
            .returning(_identities.c.subject)
        )
    ).one_or_none()
    if removed is None:
        linked = await session.scalar(
            select(
                exists().where(OidcIdentity.user_id == user_id, OidcIdentity.provider == provider)
            )
        )
        if not linked:
            raise not_found("identity at this provider", "provider")
        raise DomainError(
            AccountErrorCode.OIDC_LAST_LOGIN,
            "this is the account's last way to sign in: link another provider first",
            "provider",
        )
    record(
        uow,
        "user.identity_unlink",
        "user",
        user_id,
        before={"provider": provider, "subject": removed.subject},
    )


async def identities_of(session: AsyncSession, user_ids: list[uuid.UUID]) -> list[OidcIdentity]:
    rows = await session.scalars(
        select(OidcIdentity)
        .where(OidcIdentity.user_id.in_(user_ids))
        .order_by(OidcIdentity.linked_at, OidcIdentity.id)
    )
    return list(rows)
