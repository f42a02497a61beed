from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gotong_gql.models_base import Field, SQLModel, created_at_field, json_field


class ReputationCache(SQLModel, table=True):
    """The last reputation the Markov Engine reported for a user."""

    __tablename__ = "reputation_cache"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    score: float = 0.0
    tier: str | None = Field(default=None, max_length=50)
    contributions_count: int = 0
    vouches_received: int = 0
    skills: list[dict[str, Any]] = json_field(default_factory=list)
    cached_at: datetime = created_at_field()
