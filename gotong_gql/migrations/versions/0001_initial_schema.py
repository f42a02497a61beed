"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 11:32:12.426816
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gotong_gql.db import JSONType, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "skills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 100", name=op.f("ck_skills_name_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("name", name=op.f("uq_skills_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("markov_user_id", sa.String(length=80), nullable=False),
        sa.Column("bio", sa.String(length=500), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("bio IS NULL OR length(bio) <= 500", name=op.f("ck_users_bio_length")),
        sa.CheckConstraint(
            "length(username) BETWEEN 3 AND 50", name=op.f("ck_users_username_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("markov_user_id", name=op.f("uq_users_markov_user_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "event_type IN ('contribution_created', 'vouch_submitted', 'por_evidence')",
            name=op.f("ck_webhook_events_event_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'delivered', 'failed')",
            name=op.f("ck_webhook_events_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_events_attempts_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_events_event_id")),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_events_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("before", JSONType, nullable=True),
        sa.Column("after", JSONType, nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_entity_entity_id_at", ["entity", "entity_id", "at"], unique=False
        )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_family_id"), ["family_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_refresh_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "reputation_cache",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=50), nullable=True),
        sa.Column("contributions_count", sa.Integer(), nullable=False),
        sa.Column("vouches_received", sa.Integer(), nullable=False),
        sa.Column("skills", JSONType, nullable=False),
        sa.Column("cached_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reputation_cache_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_reputation_cache")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("difficulty", sa.String(length=20), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("estimated_hours", sa.Float(), nullable=True),
        sa.Column("metadata", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "difficulty IS NULL OR difficulty IN ('easy', 'intermediate', 'hard')",
            name=op.f("ck_tasks_difficulty"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'assigned', 'in_progress', 'completed', 'cancelled')",
            name=op.f("ck_tasks_status"),
        ),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)", name=op.f("ck_tasks_coordinates_pair")
        ),
        sa.CheckConstraint(
            "estimated_hours IS NULL OR estimated_hours > 0",
            name=op.f("ck_tasks_estimated_hours_positive"),
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
            name=op.f("ck_tasks_latitude_range"),
        ),
        sa.CheckConstraint("length(title) BETWEEN 1 AND 200", name=op.f("ck_tasks_title_length")),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
            name=op.f("ck_tasks_longitude_range"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_tasks_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_tasks_creator_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index("ix_tasks_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted_by_id", sa.Uuid(), nullable=True),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('organizer', 'verifier', 'admin')", name=op.f("ck_user_roles_role")
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["users.id"],
            name=op.f("fk_user_roles_granted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_roles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_roles_granted_by_id"), ["granted_by_id"], unique=False
        )

    op.create_table(
        "user_skills",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("skill_id", sa.Uuid(), nullable=False),
        sa.Column("proficiency", sa.Float(), nullable=False),
        sa.Column("endorsements_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "endorsements_count >= 0", name=op.f("ck_user_skills_endorsements_nonnegative")
        ),
        sa.CheckConstraint(
            "proficiency >= 0 AND proficiency <= 1", name=op.f("ck_user_skills_proficiency_range")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_user_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_skills_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "skill_id", name=op.f("pk_user_skills")),
    )
    with op.batch_alter_table("user_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_skills_skill_id"), ["skill_id"], unique=False)

    op.create_table(
        "vouches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("voucher_id", sa.Uuid(), nullable=False),
        sa.Column("vouchee_id", sa.Uuid(), nullable=False),
        sa.Column("skill_id", sa.Uuid(), nullable=True),
        sa.Column("weight_hint", sa.String(length=20), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "weight_hint IS NULL OR weight_hint IN ('strong', 'moderate', 'light')",
            name=op.f("ck_vouches_weight_hint"),
        ),
        sa.CheckConstraint(
            "message IS NULL OR length(message) <= 500", name=op.f("ck_vouches_message_length")
        ),
        sa.CheckConstraint("voucher_id <> vouchee_id", name=op.f("ck_vouches_no_self_vouch")),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_vouches_skill_id_skills"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vouchee_id"],
            ["users.id"],
            name=op.f("fk_vouches_vouchee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["users.id"],
            name=op.f("fk_vouches_voucher_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouches")),
        sa.UniqueConstraint(
            "voucher_id",
            "vouchee_id",
            "skill_id",
            name=op.f("uq_vouches_voucher_id_vouchee_id_skill_id"),
        ),
    )
    with op.batch_alter_table("vouches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vouches_skill_id"), ["skill_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouches_vouchee_id"), ["vouchee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouches_voucher_id"), ["voucher_id"], unique=False)
        batch_op.create_index(
            "uq_vouches_general_pair",
            ["voucher_id", "vouchee_id"],
            unique=True,
            postgresql_where=sa.text("skill_id IS NULL"),
            sqlite_where=sa.text("skill_id IS NULL"),
        )

    op.create_table(
        "webhook_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("replayed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.event_id"],
            name=op.f("fk_webhook_failures_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_failures")),
    )
    with op.batch_alter_table("webhook_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_failures_event_id"), ["event_id"], unique=False
        )

    op.create_table(
        "contributions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("contribution_type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("evidence_url", sa.String(length=2048), nullable=True),
        sa.Column("verification_status", sa.String(length=20), nullable=False),
        sa.Column("evidence_quality_score", sa.Float(), nullable=True),
        sa.Column("metadata", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "contribution_type IN ('task_completion', 'code_review', 'documentation', 'mentoring', 'event_organization', 'community_service', 'custom')",
            name=op.f("ck_contributions_contribution_type"),
        ),
        sa.CheckConstraint(
            "verification_status IN ('pending', 'verified', 'rejected')",
            name=op.f("ck_contributions_verification_status"),
        ),
        sa.CheckConstraint(
            "evidence_quality_score IS NULL OR (evidence_quality_score >= 0 AND evidence_quality_score <= 1)",
            name=op.f("ck_contributions_evidence_quality_score_range"),
        ),
        sa.CheckConstraint(
            "length(description) <= 2000", name=op.f("ck_contributions_description_length")
        ),
        sa.CheckConstraint(
            "length(title) BETWEEN 1 AND 200", name=op.f("ck_contributions_title_length")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_contributions_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contributions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
    )
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contributions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contributions_verification_status"),
            ["verification_status"],
            unique=False,
        )
        batch_op.create_index(
            "uq_contributions_task_id",
            ["task_id"],
            unique=True,
            postgresql_where=sa.text("task_id IS NOT NULL"),
            sqlite_where=sa.text("task_id IS NOT NULL"),
        )

    op.create_table(
        "task_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'reassigned', 'cancelled')",
            name=op.f("ck_task_assignments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_task_assignments_assigned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_assignments_task_id_tasks"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_task_assignments_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_assignments")),
    )
    with op.batch_alter_table("task_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_assignments_assigned_by_id"), ["assigned_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_task_assignments_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_assignments_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_task_assignments_active_task",
            ["task_id"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "task_skills",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("skill_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_task_skills_skill_id_skills"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_skills_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "skill_id", name=op.f("pk_task_skills")),
    )
    with op.batch_alter_table("task_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_skills_skill_id"), ["skill_id"], unique=False)

    op.create_table(
        "contribution_skills",
        sa.Column("contribution_id", sa.Uuid(), nullable=False),
        sa.Column("skill_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["contributions.id"],
            name=op.f("fk_contribution_skills_contribution_id_contributions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_contribution_skills_skill_id_skills"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("contribution_id", "skill_id", name=op.f("pk_contribution_skills")),
    )
    with op.batch_alter_table("contribution_skills", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contribution_skills_skill_id"), ["skill_id"], unique=False
        )

    op.create_table(
        "evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contribution_id", sa.Uuid(), nullable=False),
        sa.Column("uploader_id", sa.Uuid(), nullable=False),
        sa.Column("evidence_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("object_key", sa.String(length=512), nullable=True),
        sa.Column("file_url", sa.String(length=2048), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("media_hash", sa.String(length=128), nullable=True),
        sa.Column("claimed_media_hash", sa.String(length=128), nullable=True),
        sa.Column("timestamp", UTCDateTime(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("metadata", JSONType, nullable=False),
        sa.Column("warnings", JSONType, nullable=False),
        sa.Column("rejection_reason", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "evidence_type IN ('photo_with_timestamp', 'gps_verification', 'witness_attestation')",
            name=op.f("ck_evidence_evidence_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending_upload', 'processing', 'verified', 'rejected')",
            name=op.f("ck_evidence_status"),
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
            name=op.f("ck_evidence_latitude_range"),
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
            name=op.f("ck_evidence_longitude_range"),
        ),
        sa.CheckConstraint(
            "size_bytes IS NULL OR size_bytes >= 0", name=op.f("ck_evidence_size_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["contributions.id"],
            name=op.f("fk_evidence_contribution_id_contributions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"],
            ["users.id"],
            name=op.f("fk_evidence_uploader_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint("object_key", name=op.f("uq_evidence_object_key")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_contribution_id"), ["contribution_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_uploader_id"), ["uploader_id"], unique=False)

    op.create_table(
        "verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contribution_id", sa.Uuid(), nullable=False),
        sa.Column("verifier_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("evidence_quality_score", sa.Float(), nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('approved', 'rejected', 'pending')", name=op.f("ck_verifications_outcome")
        ),
        sa.CheckConstraint(
            "evidence_quality_score >= 0 AND evidence_quality_score <= 1",
            name=op.f("ck_verifications_evidence_quality_score_range"),
        ),
        sa.CheckConstraint(
            "notes IS NULL OR length(notes) <= 2000", name=op.f("ck_verifications_notes_length")
        ),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["contributions.id"],
            name=op.f("fk_verifications_contribution_id_contributions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["users.id"],
            name=op.f("fk_verifications_verifier_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.UniqueConstraint(
            "verifier_id",
            "contribution_id",
            name=op.f("uq_verifications_verifier_id_contribution_id"),
        ),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verifications_contribution_id"), ["contribution_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_verifications_verifier_id"), ["verifier_id"], unique=False
        )

    op.create_table(
        "witnesses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("witness_id", sa.Uuid(), nullable=True),
        sa.Column("witness_name", sa.String(length=255), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=False),
        sa.Column("statement", sa.String(length=2000), nullable=True),
        sa.Column("contact", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "relationship IN ('supervisor', 'peer', 'beneficiary', 'other')",
            name=op.f("ck_witnesses_relationship"),
        ),
        sa.CheckConstraint(
            "length(witness_name) BETWEEN 1 AND 255", name=op.f("ck_witnesses_witness_name_length")
        ),
        sa.CheckConstraint(
            "statement IS NULL OR length(statement) <= 2000",
            name=op.f("ck_witnesses_statement_length"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence.id"],
            name=op.f("fk_witnesses_evidence_id_evidence"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["users.id"],
            name=op.f("fk_witnesses_witness_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witnesses")),
    )
    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_witnesses_evidence_id"), ["evidence_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_witnesses_witness_id"), ["witness_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("witnesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_witnesses_witness_id"))
        batch_op.drop_index(batch_op.f("ix_witnesses_evidence_id"))

    op.drop_table("witnesses")
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verifications_verifier_id"))
        batch_op.drop_index(batch_op.f("ix_verifications_contribution_id"))

    op.drop_table("verifications")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_uploader_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_status"))
        batch_op.drop_index(batch_op.f("ix_evidence_contribution_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("contribution_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contribution_skills_skill_id"))

    op.drop_table("contribution_skills")
    with op.batch_alter_table("task_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_skills_skill_id"))

    op.drop_table("task_skills")
    with op.batch_alter_table("task_assignments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_task_assignments_active_task",
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_task_assignments_user_id"))
        batch_op.drop_index(batch_op.f("ix_task_assignments_task_id"))
        batch_op.drop_index(batch_op.f("ix_task_assignments_assigned_by_id"))

    op.drop_table("task_assignments")
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_contributions_task_id",
            postgresql_where=sa.text("task_id IS NOT NULL"),
            sqlite_where=sa.text("task_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_contributions_verification_status"))
        batch_op.drop_index(batch_op.f("ix_contributions_user_id"))

    op.drop_table("contributions")
    with op.batch_alter_table("webhook_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_failures_event_id"))

    op.drop_table("webhook_failures")
    with op.batch_alter_table("vouches", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_vouches_general_pair",
            postgresql_where=sa.text("skill_id IS NULL"),
            sqlite_where=sa.text("skill_id IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_vouches_voucher_id"))
        batch_op.drop_index(batch_op.f("ix_vouches_vouchee_id"))
        batch_op.drop_index(batch_op.f("ix_vouches_skill_id"))

    op.drop_table("vouches")
    with op.batch_alter_table("user_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_skills_skill_id"))

    op.drop_table("user_skills")
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_roles_granted_by_id"))

    op.drop_table("user_roles")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_created_at")
        batch_op.drop_index(batch_op.f("ix_tasks_creator_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_assignee_id"))

    op.drop_table("tasks")
    op.drop_table("reputation_cache")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_family_id"))

    op.drop_table("refresh_tokens")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity_entity_id_at")

    op.drop_table("audit_log")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_status_next_attempt_at")

    op.drop_table("webhook_events")
    op.drop_table("users")
    op.drop_table("skills")
