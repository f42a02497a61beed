"""The mutual-credit ledger (SPEC 9): accounts, and transactions of postings that sum to zero.

Accounts hold the running `balance_minutes` and `reserved_minutes`, changed in the same
transaction as the postings that explain them; `available = balance - reserved - limit` never
goes below zero (a check here, and conditional UPDATEs in credit/accounts.py). Transactions and
postings are append-only: the service never updates or deletes them, on PostgreSQL a trigger
refuses it (migration 0003), and every transaction is a link of a hash chain (audit/chain.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from gotong_gql.audit.models import HASH_LENGTH
from gotong_gql.models_base import (
    Field,
    SQLModel,
    check,
    created_at_field,
    fk_field,
    id_field,
    in_list,
)

ACCOUNT_KINDS = ("user", "community")
TRANSACTION_KINDS = ("task_payment", "transfer", "adjustment")
DEFAULT_LIMIT_MINUTES = -1200  # -20 hours
# The one community account of an installation has this id on every database.
COMMUNITY_ACCOUNT_ID = uuid.UUID("00000000-0000-4000-8000-00000000c0de")


class CreditAccount(SQLModel, table=True):
    __tablename__ = "credit_accounts"
    __table_args__ = (
        check(in_list("kind", ACCOUNT_KINDS), "kind"),
        check("reserved_minutes >= 0", "reserved_nonnegative"),
        check(
            "limit_minutes IS NULL OR balance_minutes - reserved_minutes >= limit_minutes",
            "available_nonnegative",
        ),
        sa.Index(
            "uq_credit_accounts_community",
            "kind",
            unique=True,
            postgresql_where=sa.text("kind = 'community'"),
            sqlite_where=sa.text("kind = 'community'"),
        ),
    )

    id: uuid.UUID = id_field()
    # Unique: one account per user. SET NULL keeps a deleted user's account (and its postings,
    # which the balances of everyone else depend on) as an account without an owner.
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", nullable=True, unique=True
    )
    kind: str = Field(default="user", max_length=20)
    balance_minutes: int = Field(default=0, sa_type=sa.BigInteger)
    reserved_minutes: int = Field(default=0, sa_type=sa.BigInteger)
    # The lowest balance (less what is reserved) allowed; NULL: no limit (the community account).
    limit_minutes: int | None = Field(default=DEFAULT_LIMIT_MINUTES, sa_type=sa.BigInteger)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class CreditTransaction(SQLModel, table=True):
    """One movement of credit; its postings sum to zero. `reference` names what it pays for
    (`contribution:<id>` or `transfer:<id>`) and is unique: a contribution is paid once."""

    __tablename__ = "credit_transactions"
    __table_args__ = (check(in_list("kind", TRANSACTION_KINDS), "kind"),)

    id: uuid.UUID = id_field()
    kind: str = Field(max_length=20)
    reference: str = Field(max_length=80, unique=True)
    memo: str | None = Field(default=None, max_length=500)
    # Who made it, without a foreign key: a ledger row is never changed (see AuditLog.actor_id).
    actor_id: uuid.UUID | None = Field(default=None, nullable=True)
    at: datetime = created_at_field()
    # Set when the unit of work seals its chain links, just before it commits (audit/chain.py).
    seq: int = Field(sa_type=sa.BigInteger, unique=True)
    prev_hash: str = Field(max_length=HASH_LENGTH)
    hash: str = Field(max_length=HASH_LENGTH)


class CreditPosting(SQLModel, table=True):
    __tablename__ = "credit_postings"
    __table_args__ = (
        check("amount_minutes <> 0", "amount_nonzero"),
        sa.UniqueConstraint("transaction_id", "account_id"),
    )

    id: uuid.UUID = id_field()
    transaction_id: uuid.UUID = fk_field("credit_transactions.id", ondelete="RESTRICT", index=False)
    account_id: uuid.UUID = fk_field("credit_accounts.id", ondelete="RESTRICT")
    amount_minutes: int = Field(sa_type=sa.BigInteger)
