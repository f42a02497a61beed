"""Operations reads (audit checkpoints, OIDC providers and identities, webhook lists, lists of
joined rows): the compiled path answers as the executor for each kind of viewer."""

from __future__ import annotations

import json

from gotong_gql.oidc.models import OidcIdentity
from tests.compiler.reads import refused, same
from tests.credit.helpers import transfer
from tests.evidence.helpers import (
    CONTRIBUTE,
)
from tests.helpers import create_user, register

FROZEN = 2_000_000_000.0  # the object store's clock: presigned URLs are the same on both paths
SUBMIT = """mutation($input: EvidenceSubmitInput!) { evidenceSubmit(input: $input) {
  evidence { id } errors { code } } }"""
EVIDENCE_FIELDS = """fragment E on Evidence { id __typename evidenceType status mediaHash
  timestamp latitude longitude accuracyMeters contentType sizeBytes exif rejectionReason
  createdAt processedAt fileUrl warnings { code message __typename }
  witnesses { witnessName relationship statement contact } }"""
EVIDENCE = (
    """query Evidence($c: ID!, $e: ID!, $ids: [ID!]!) {
  contribution(id: $c) { id evidenceQualityScore reputationMultiplier viewerCanAddEvidence
    evidence(first: 10) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { ...E } } } }
  evidence(id: $e) { ...E }
  node(id: $e) { id ... on Evidence { status latitude } }
  nodes(ids: $ids) { id ... on Evidence { evidenceType } } }"""
    + EVIDENCE_FIELDS
)
EVIDENCE_PAGES = """query Pages($c: ID!, $after: String) { contribution(id: $c) {
  forward: evidence(first: 2, after: $after) { pageInfo { hasNextPage hasPreviousPage }
    edges { cursor node { id status } } }
  backward: evidence(last: 2) { totalCount pageInfo { hasPreviousPage startCursor }
    edges { node { id accuracyMeters } } } } }"""
QUALITY = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Contribution { id
  evidenceQualityScore reputationMultiplier } } }"""


CHECKPOINT = "query Heads { auditCheckpoint { chain head count at __typename } }"
IDENTITIES = """query Identities { me { username identities { provider subject email linkedAt } }
  ayu: user(by: {username: "ayu"}) { identities { provider linkedAt } } }"""
PROVIDERS = "query Providers { oidcProviders { name displayName __typename } }"


async def test_checkpoints_providers_and_identities_answer_as_the_executor(api):
    ayu, dewi = await register(api, "ayu"), await register(api, "dewi")
    root = await create_user(api, "root", ["admin"])
    heads = await same(api, CHECKPOINT, {}, root)
    assert [head["count"] for head in heads["auditCheckpoint"]] == [
        (await api.sql("SELECT count(*) FROM audit_log"))[0][0],
        0,
    ]
    assert heads["auditCheckpoint"][1]["at"] is None
    await transfer(api, ayu, dewi, 5)
    await same(api, CHECKPOINT, {}, root)
    await refused(api, CHECKPOINT, {}, ayu)

    async with api.services.session_factory() as session:
        user_id = (await session.execute(_user_id("ayu"))).scalar_one()
        for provider, subject in (("testop", "s-1"), ("second", "s-2")):
            session.add(OidcIdentity(user_id=user_id, provider=provider, subject=subject))
        await session.commit()
    for who in (ayu, dewi, root):
        data = await same(api, IDENTITIES, {}, who)
        visible = data["ayu"]["identities"]
        if who is dewi:
            assert visible is None
        else:
            assert [identity["provider"] for identity in visible] == ["testop", "second"]
    assert (await same(api, PROVIDERS, {}, ayu))["oidcProviders"] == []


def _user_id(username: str):
    from sqlalchemy import select

    from gotong_gql.user.models import User

    return select(User.id).where(User.username == username)


WEBHOOKS = """query Webhooks($status: WebhookEventStatus, $type: WebhookEventType, $after: String,
  $replayed: Boolean!) {
  all: webhookEvents(first: 3, after: $after) { totalCount
    pageInfo { hasNextPage endCursor } edges { cursor node { eventId eventType status attempts
      requestId payload createdAt nextAttemptAt lastAttemptAt lastStatusCode error
      deliveredAt } } }
  some: webhookEvents(last: 5, filter: {status: $status, eventType: $type}) {
    totalCount edges { node { eventId status } } }
  webhookFailures(first: 5, includeReplayed: $replayed) { totalCount edges { node { eventId
    eventType error statusCode attempts retryable nextRetryAt createdAt replayedAt } } } }"""
VOUCH = """mutation($input: VouchCreateInput!) { vouchCreate(input: $input) { errors { code } } }"""


async def test_webhook_lists_answer_as_the_executor(api):
    from sqlalchemy import select

    from gotong_gql.db import utcnow
    from gotong_gql.webhook.models import WebhookEvent, WebhookFailure

    ayu, dewi = await register(api, "ayu"), await register(api, "dewi")
    root = await create_user(api, "root", ["admin"])
    for _ in range(3):
        await api.gql(CONTRIBUTE, token=ayu.token)
    vouch = {"input": {"voucheeId": ayu.id, "skill": "masonry", "weightHint": "MODERATE"}}
    assert (await api.gql(VOUCH, vouch, dewi.token))["vouchCreate"]["errors"] == []
    async with api.services.session_factory() as session:
        events = list(
            await session.scalars(
                select(WebhookEvent)
                .where(WebhookEvent.event_type == "contribution_created")
                .order_by(WebhookEvent.created_at)
            )
        )
        assert len(events) == 3
        for index, event in enumerate(events[:2]):
            event.status, event.attempts, event.error = "failed", 5, f"HTTP 50{index}"
            event.last_status_code = 500 + index
            event.last_attempt_at = utcnow()
            session.add(
                WebhookFailure(
                    event_id=event.event_id,
                    event_type=event.event_type,
                    payload=event.payload,
                    error=event.error,
                    status_code=event.last_status_code,
                    attempts=5,
                    retryable=index == 0,
                    next_retry_at=utcnow() if index == 0 else None,
                    replayed_at=None if index == 0 else utcnow(),
                )
            )
        await session.commit()
    for variables in (
        {"replayed": False},
        {"replayed": True, "status": "FAILED"},
        {"replayed": True, "type": "VOUCH_SUBMITTED", "status": "PENDING"},
    ):
        data = await same(api, WEBHOOKS, variables, root)
    assert data["some"]["totalCount"] == 1
    assert data["webhookFailures"]["totalCount"] == 2
    first = await same(api, WEBHOOKS, {"replayed": False}, root)
    assert json.loads(first["all"]["edges"][0]["node"]["payload"])["event_id"]
    after = first["all"]["pageInfo"]["endCursor"]
    await same(api, WEBHOOKS, {"replayed": False, "after": after}, root)
    await refused(api, WEBHOOKS, {"replayed": False}, ayu)


ONLY_JOINED = """query Joined($u: ID!) {
  contributions(first: 10, filter: {userId: $u}) { edges { node { user { username } } } }
  vouches(first: 10, filter: {voucheeId: $u}) { edges { node { skill { name } } } }
  user(by: {id: $u}) { skills { __typename } contributions(first: 5) { edges { __typename } } } }"""


async def test_lists_whose_elements_read_no_column_of_their_row(api):
    """Every element is there (SQLite aggregates over the rows of the FROM it is given)."""
    ayu, budi = await register(api, "ayu"), await register(api, "budi")
    await api.gql(
        'mutation { accountUpdate(input: {skills: ["masonry", "carpentry"]}) { errors { code } } }',
        token=ayu.token,
    )
    for _ in range(3):
        await api.gql(CONTRIBUTE, token=ayu.token)
    for skill in (None, "carpentry"):
        vouch = {"input": {"voucheeId": ayu.id, "skill": skill}}
        assert (await api.gql(VOUCH, vouch, budi.token))["vouchCreate"]["errors"] == []
    data = await same(api, ONLY_JOINED, {"u": ayu.id}, budi)
    assert len(data["contributions"]["edges"]) == 3
    assert len(data["vouches"]["edges"]) == 2
    assert data["user"]["skills"] == [{"__typename": "UserSkill"}] * 2
    assert len(data["user"]["contributions"]["edges"]) == 3
