"""contributionVerify: who may verify, one verification per verifier, quorum consensus."""

from __future__ import annotations

import pytest

from gotong_gql.contribution.verification import quality_score, reputation_multiplier
from tests.helpers import create_user, register

CONTRIBUTE = """mutation { contributionCreate(input: {contributionType: DOCUMENTATION,
  title: "River guide", skills: ["writing"]}) { contribution { id } errors { code } } }"""
VERIFY = """mutation($c: ID!, $o: VerificationDecision!, $s: Float, $n: String) {
  contributionVerify(input: {contributionId: $c, outcome: $o, evidenceQualityScore: $s,
                             notes: $n}) {
    contribution { verificationStatus evidenceQualityScore reputationMultiplier }
    verification { outcome evidenceQualityScore reputationMultiplier notes
                   verifier { username } }
    errors { path code } } }"""


async def _setup(api, verifiers=3):
    author = await register(api, "ayu")
    contribution = (await api.gql(CONTRIBUTE, token=author.token))["contributionCreate"]
    people = [await create_user(api, f"verifier{i}", ["verifier"]) for i in range(verifiers)]
    return author, contribution["contribution"]["id"], people


async def _verify(api, who, contribution_id, outcome, score=None, notes=None):
    data = await api.gql(
        VERIFY, {"c": contribution_id, "o": outcome, "s": score, "n": notes}, who.token
    )
    return data["contributionVerify"]


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (["APPROVED", "APPROVED", "REJECTED"], "VERIFIED"),
        (["APPROVED", "REJECTED", "REJECTED"], "REJECTED"),
        (["APPROVED", "APPROVED"], "PENDING"),
    ],
)
async def test_consensus(api, outcomes, status):
    _, contribution_id, verifiers = await _setup(api)
    for verifier, outcome in zip(verifiers, outcomes, strict=False):
        result = await _verify(api, verifier, contribution_id, outcome)
        assert result["errors"] == []
    assert result["contribution"]["verificationStatus"] == status
    statuses = await api.sql(
        "SELECT after FROM audit_log WHERE action = 'contribution.verification_status'"
    )
    assert len(statuses) == (0 if status == "PENDING" else 1)


async def test_default_quality_score_and_multiplier(api):
    _, contribution_id, (verifier, *_) = await _setup(api)
    result = await _verify(api, verifier, contribution_id, "APPROVED", notes="Looks right")
    assert result["verification"] == {
        "outcome": "APPROVED",
        "evidenceQualityScore": 0.5,
        "reputationMultiplier": 1.0,
        "notes": "Looks right",
        "verifier": {"username": "verifier0"},
    }
    assert result["contribution"]["evidenceQualityScore"] == 0.5
    given = await _verify(api, verifier, contribution_id, "APPROVED", score=0.85)
    assert given["verification"]["reputationMultiplier"] == 1.5


def test_quality_formula():
    assert (
        quality_score(photo=False, gps=False, witness=False, gps_accuracy_m=None, witnesses=0)
        == 0.5
    )
    assert (
        quality_score(photo=True, gps=True, witness=False, gps_accuracy_m=50, witnesses=0) == 0.85
    )
    assert quality_score(photo=True, gps=True, witness=True, gps_accuracy_m=5, witnesses=3) == 1.0
    assert [reputation_multiplier(s) for s in (0.59, 0.6, 0.79, 0.8, 1.0)] == [
        1.0,
        1.2,
        1.2,
        1.5,
        1.5,
    ]


async def test_who_may_verify(api):
    author, contribution_id, (verifier, *_) = await _setup(api, verifiers=1)
    author_as_verifier = await create_user(api, "checker", ["verifier"])
    own = (
        await api.gql(
            'mutation { contributionCreate(input: {contributionType: CUSTOM, title: "Mine"})'
            " { contribution { id } } }",
            token=author_as_verifier.token,
        )
    )["contributionCreate"]["contribution"]["id"]
    before = await api.table_counts()
    assert (await _verify(api, author, contribution_id, "APPROVED"))["errors"] == [
        {"path": None, "code": "FORBIDDEN"}
    ]  # not a verifier
    assert (await _verify(api, author_as_verifier, own, "APPROVED"))["errors"] == [
        {"path": None, "code": "FORBIDDEN"}
    ]  # own contribution
    assert (await _verify(api, verifier, contribution_id, "APPROVED", score=1.5))["errors"] == [
        {"path": ["input", "evidenceQualityScore"], "code": "INVALID_INPUT"}
    ]
    # A verifier decides APPROVED or REJECTED: the schema does not offer PENDING.
    response = await api.post(VERIFY, {"c": contribution_id, "o": "PENDING"}, verifier.token)
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "PENDING" in error["message"] and "pending" not in error["message"]
    assert await api.table_counts() == before


async def test_a_changed_mind_updates_the_verification(api):
    _, contribution_id, (first, second, third) = await _setup(api)
    await _verify(api, first, contribution_id, "REJECTED")
    await _verify(api, second, contribution_id, "APPROVED")
    result = await _verify(api, third, contribution_id, "REJECTED")
    assert result["contribution"]["verificationStatus"] == "REJECTED"
    changed = await _verify(api, first, contribution_id, "APPROVED")
    assert changed["contribution"]["verificationStatus"] == "VERIFIED"
    rows = await api.sql("SELECT count(*) AS n FROM verifications")
    assert rows[0].n == 3
    actions = [
        r.action
        for r in await api.sql(
            "SELECT action FROM audit_log WHERE entity IN ('verification', 'contribution')"
            " ORDER BY at"
        )
    ]
    assert actions.count("verification.update") == 1
    assert actions.count("contribution.verification_status") == 2
    listing = await api.gql(
        "query($id: ID!) { contribution(id: $id) { verifications(first: 5) { edges { node {"
        " outcome verifier { username } } } } } }",
        {"id": contribution_id},
        first.token,
    )
    assert [e["node"] for e in listing["contribution"]["verifications"]["edges"]] == [
        {"outcome": "APPROVED", "verifier": {"username": "verifier0"}},
        {"outcome": "APPROVED", "verifier": {"username": "verifier1"}},
        {"outcome": "REJECTED", "verifier": {"username": "verifier2"}},
    ]


async def test_verified_work_raises_proficiency(api):
    author, contribution_id, verifiers = await _setup(api)
    for verifier in verifiers:
        await _verify(api, verifier, contribution_id, "APPROVED")
    profile = await api.gql(
        '{ user(by: {username: "ayu"}) { skills { skill { name } proficiency } } }',
        token=author.token,
    )
    assert profile["user"]["skills"] == [{"skill": {"name": "writing"}, "proficiency": 0.15}]
    best = await api.gql(
        '{ users(first: 5, filter: {skill: "writing"}) { edges { node { username } } } }',
        token=author.token,
    )
    assert best["users"]["edges"] == [{"node": {"username": "ayu"}}]
