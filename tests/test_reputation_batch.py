"""`User.reputation` on a list reads the table once for the whole list (issue 13), in the
request's connection: never a connection and a statement per user. (With Markov:
tests/webhook/test_reputation.py.)"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from sqlalchemy import event

from gotong_gql.reputation.models import ReputationCache
from tests.helpers import register

USERS = "{ users(first: 10) { edges { node { username reputation { score tier stale } } } } }"


def _row_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


async def test_a_list_of_users_reads_their_last_known_reputations_at_once(api):
    accounts = [await register(api, name) for name in ("ayu", "budi", "citra", "dewi")]
    async with api.services.session_factory() as session:
        for account, score, tier in (
            (accounts[0], 0.25, "newcomer"),
            (accounts[2], 0.75, "steward"),
        ):
            session.add(
                ReputationCache(
                    user_id=_row_id(account.id),
                    score=score,
                    tier=tier,
                    contributions_count=3,
                    vouches_received=1,
                    skills=[],
                    cached_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
                )
            )
        await session.commit()
    checkouts: list[object] = []
    engine = api.services.engine.sync_engine

    def checkout(*_args: object) -> None:
        checkouts.append(_args)

    event.listen(engine, "checkout", checkout)
    try:
        with api.statements as counter:
            data = await api.gql(USERS, token=accounts[1].token)
    finally:
        event.remove(engine, "checkout", checkout)
    assert [edge["node"] for edge in data["users"]["edges"]] == [
        {"username": "ayu", "reputation": {"score": 0.25, "tier": "NEWCOMER", "stale": True}},
        {"username": "budi", "reputation": None},
        {"username": "citra", "reputation": {"score": 0.75, "tier": "STEWARD", "stale": True}},
        {"username": "dewi", "reputation": None},
    ]
    assert counter.count == 2, counter.statements  # the page, then the four reputations
    assert len(checkouts) == 1  # the request's own connection
