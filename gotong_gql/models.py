"""Every table, imported in one place so that the metadata (and Alembic) sees them all."""

from gotong_gql.audit.models import AuditLog, ChainHead
from gotong_gql.contribution.models import Contribution, ContributionSkill, Verification
from gotong_gql.credit.models import CreditAccount, CreditPosting, CreditTransaction
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.models_base import SQLModel
from gotong_gql.oidc.models import OidcIdentity, OidcState
from gotong_gql.reputation.models import ReputationCache
from gotong_gql.skill.models import Skill, UserSkill
from gotong_gql.task.models import Task, TaskAssignment, TaskSkill
from gotong_gql.user.models import RefreshToken, User, UserRole
from gotong_gql.vouch.models import Vouch
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure

metadata = SQLModel.metadata

__all__ = [
    "AuditLog",
    "ChainHead",
    "Contribution",
    "ContributionSkill",
    "CreditAccount",
    "CreditPosting",
    "CreditTransaction",
    "Evidence",
    "OidcIdentity",
    "OidcState",
    "RefreshToken",
    "ReputationCache",
    "Skill",
    "Task",
    "TaskAssignment",
    "TaskSkill",
    "User",
    "UserRole",
    "UserSkill",
    "Verification",
    "Vouch",
    "WebhookEvent",
    "WebhookFailure",
    "Witness",
    "metadata",
]
