"""task start time and webhook slow lane

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 11:53:59.499403
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gotong_gql.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_tasks_created_at_id", ["created_at", "id"], unique=False)

    with op.batch_alter_table("webhook_failures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slow_round", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("next_retry_at", UTCDateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_webhook_failures_next_retry_at"), ["next_retry_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_failures_next_retry_at"))
        batch_op.drop_column("next_retry_at")
        batch_op.drop_column("slow_round")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_created_at_id")
        batch_op.drop_column("started_at")
