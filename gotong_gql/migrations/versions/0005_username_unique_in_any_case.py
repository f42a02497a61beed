"""usernames unique in any case

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:30:00.000000

Sign-in and lookups compare usernames in lower case, so two accounts whose names differ only in
case could not both be reached. A unique index on lower(username) makes the database refuse the
second (it also serves those lookups). A database that already holds such a pair stops the
upgrade with the names to rename first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "usernames that differ only in case; rename all but one of each before upgrading: "
            + ", ".join(sorted(clashes))
        )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", table_name="users")
