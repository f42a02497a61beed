from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from gotong_gql.db import UTCDateTime
from gotong_gql.models_base import Field, SQLModel, created_at_field, fk_field, id_field


class OidcState(SQLModel, table=True):
    """One authorization flow in progress (oidcAuthorizationStart), kept 10 minutes and redeemed
    once by a single `DELETE ... RETURNING`. The state is stored as its SHA-256: a copy of the
    table does not hold live states. Started with a bearer token, the flow belongs to that user
    (`user_id`), and only that user's oidcIdentityLink may finish it."""

    __tablename__ = "oidc_states"

    state_hash: str = Field(max_length=64, primary_key=True)
    provider: str = Field(max_length=50)
    redirect_uri: str = Field(max_length=2048)
    code_verifier: str = Field(max_length=128)
    nonce: str = Field(max_length=128)
    user_id: uuid.UUID | None = fk_field("users.id", ondelete="CASCADE", nullable=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class OidcIdentity(SQLModel, table=True):
    """An account at a provider (its `sub`) that signs in to one user. One per provider and user:
    oidcIdentityUnlink names the provider only."""

    __tablename__ = "oidc_identities"
    __table_args__ = (
        sa.UniqueConstraint("provider", "subject"),
        sa.UniqueConstraint("user_id", "provider"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("users.id", ondelete="CASCADE", index=False)
    provider: str = Field(max_length=50)
    subject: str = Field(max_length=255)
    email: str | None = Field(default=None, max_length=320)
    linked_at: datetime = created_at_field()
