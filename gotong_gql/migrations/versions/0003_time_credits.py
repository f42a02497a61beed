"""time credits: the mutual-credit ledger, task payers and reservations, hash-chained audit

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 16:01:42.655899

Data: every existing user gets a credit account (limit -1200 minutes), the installation its
community account; existing audit entries are numbered in the order they were written (time,
then id) and chained by hashes. Tasks assigned before this revision hold no reservation, so
they pay nothing when approved. On PostgreSQL a trigger refuses UPDATE and DELETE on
`audit_log`, `credit_transactions` and `credit_postings`.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from gotong_gql.audit.chain import GENESIS, link_hash
from gotong_gql.db import JSONType, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMUNITY_ACCOUNT_ID = uuid.UUID("00000000-0000-4000-8000-00000000c0de")
DEFAULT_LIMIT_MINUTES = -1200
APPEND_ONLY = ("audit_log", "credit_transactions", "credit_postings")


def upgrade() -> None:
    op.create_table(
        "audit_chain_heads",
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chain_heads")),
    )
    op.create_table(
        "credit_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('task_payment', 'transfer', 'adjustment')",
            name=op.f("ck_credit_transactions_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transactions")),
        sa.UniqueConstraint("reference", name=op.f("uq_credit_transactions_reference")),
        sa.UniqueConstraint("seq", name=op.f("uq_credit_transactions_seq")),
    )
    accounts = op.create_table(
        "credit_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("balance_minutes", sa.BigInteger(), nullable=False),
        sa.Column("reserved_minutes", sa.BigInteger(), nullable=False),
        sa.Column("limit_minutes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('user', 'community')", name=op.f("ck_credit_accounts_kind")),
        sa.CheckConstraint(
            "limit_minutes IS NULL OR balance_minutes - reserved_minutes >= limit_minutes",
            name=op.f("ck_credit_accounts_available_nonnegative"),
        ),
        sa.CheckConstraint(
            "reserved_minutes >= 0", name=op.f("ck_credit_accounts_reserved_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_credit_accounts_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_credit_accounts_user_id")),
    )
    with op.batch_alter_table("credit_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_credit_accounts_community",
            ["kind"],
            unique=True,
            postgresql_where=sa.text("kind = 'community'"),
            sqlite_where=sa.text("kind = 'community'"),
        )

    op.create_table(
        "credit_postings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minutes", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minutes <> 0", name=op.f("ck_credit_postings_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["credit_accounts.id"],
            name=op.f("fk_credit_postings_account_id_credit_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["credit_transactions.id"],
            name=op.f("fk_credit_postings_transaction_id_credit_transactions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_postings")),
        sa.UniqueConstraint(
            "transaction_id",
            "account_id",
            name=op.f("uq_credit_postings_transaction_id_account_id"),
        ),
    )
    with op.batch_alter_table("credit_postings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_postings_account_id"), ["account_id"], unique=False
        )

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payer", sa.String(length=20), nullable=False, server_default="creator")
        )
        batch_op.add_column(
            sa.Column("reserved_minutes", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            op.f("ck_tasks_payer"), "payer IN ('creator', 'community')"
        )
        batch_op.create_check_constraint(
            op.f("ck_tasks_reserved_nonnegative"), "reserved_minutes >= 0"
        )

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        # An entry is never changed, not even to forget a deleted user (SET NULL was an UPDATE).
        batch_op.drop_constraint("fk_audit_log_actor_id_users", type_="foreignkey")
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    connection = op.get_bind()
    _open_accounts(connection, accounts)
    head = _chain_audit_log(connection)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])

    heads = sa.table(
        "audit_chain_heads",
        sa.column("chain", sa.String),
        sa.column("seq", sa.BigInteger),
        sa.column("hash", sa.String),
        sa.column("at", UTCDateTime()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        heads,
        [
            {"chain": "audit_log", "seq": head[0], "hash": head[1], "at": now},
            {"chain": "credit_transactions", "seq": 0, "hash": GENESIS, "at": now},
        ],
    )
    if connection.dialect.name == "postgresql":
        _create_append_only_triggers()


def _open_accounts(connection: sa.Connection, accounts: sa.Table) -> None:
    now = datetime.now(UTC)
    users = sa.table("users", sa.column("id", sa.Uuid()))
    rows = [
        {
            "id": COMMUNITY_ACCOUNT_ID,
            "user_id": None,
            "kind": "community",
            "limit_minutes": None,
        }
    ]
    rows += [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "kind": "user",
            "limit_minutes": DEFAULT_LIMIT_MINUTES,
        }
        for (user_id,) in connection.execute(sa.select(users.c.id))
    ]
    for row in rows:
        row.update(balance_minutes=0, reserved_minutes=0, created_at=now, updated_at=now)
    op.bulk_insert(accounts, rows)


def _chain_audit_log(connection: sa.Connection) -> tuple[int, str]:
    """Number and hash the existing entries (as audit/chain.py does for new ones); the head."""
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Uuid()),
        sa.column("actor_id", sa.Uuid()),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.Uuid()),
        sa.column("before", JSONType),
        sa.column("after", JSONType),
        sa.column("request_id", sa.String),
        sa.column("at", UTCDateTime()),
        sa.column("seq", sa.BigInteger),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
    )
    content_columns = [
        log.c.id,
        log.c.actor_id,
        log.c.action,
        log.c.entity,
        log.c.entity_id,
        log.c.before,
        log.c.after,
        log.c.request_id,
        log.c.at,
    ]
    rows = connection.execute(sa.select(*content_columns).order_by(log.c.at, log.c.id)).all()
    seq, prev = 0, GENESIS
    for row in rows:
        seq += 1
        digest = link_hash(dict(row._mapping), seq, prev)
        connection.execute(
            sa.update(log).where(log.c.id == row.id).values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest
    return seq, prev


def _create_append_only_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION gotong_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION gotong_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION gotong_refuse_change()")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tasks_reserved_nonnegative"), type_="check")
        batch_op.drop_constraint(op.f("ck_tasks_payer"), type_="check")
        batch_op.drop_column("reserved_minutes")
        batch_op.drop_column("payer")

    # The foreign key comes back: entries of users deleted meanwhile forget their actor.
    op.execute("UPDATE audit_log SET actor_id = NULL WHERE actor_id NOT IN (SELECT id FROM users)")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.create_foreign_key(
            "fk_audit_log_actor_id_users", "users", ["actor_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("credit_postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_postings_account_id"))

    op.drop_table("credit_postings")
    with op.batch_alter_table("credit_accounts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_credit_accounts_community",
            postgresql_where=sa.text("kind = 'community'"),
            sqlite_where=sa.text("kind = 'community'"),
        )

    op.drop_table("credit_accounts")
    op.drop_table("credit_transactions")
    op.drop_table("audit_chain_heads")
