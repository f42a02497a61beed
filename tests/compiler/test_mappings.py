"""Evidence, credit and operations reads: the compiled path answers as the executor, for each
kind of viewer (the owner, the task's creator, a verifier, an admin, a stranger); where the
executor refuses a viewer with an error, the executor answers them (a guard, or the plan)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.compiler.reads import refused, same
from tests.credit.helpers import ASSIGN, CLAIM, finish, transfer, verify_all
from tests.evidence.helpers import (
    CONFIRM,
    CONTRIBUTE,
    REQUEST,
    make_jpeg,
    put_object,
    task_contribution,
)
from tests.helpers import create_task, create_user, register

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


def _stamp(days: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(hours=1, days=days)).replace(microsecond=0).isoformat()


async def submit(api, who, contribution_id, kind, **fields):
    variables = {
        "input": {"contributionId": contribution_id, "evidenceType": kind, **fields},
    }
    variables["input"].setdefault("timestamp", _stamp())
    data = (await api.gql(SUBMIT, variables, who.token))["evidenceSubmit"]
    assert data["errors"] == [], data["errors"]
    return data["evidence"]["id"]


async def request_photo(api, who, contribution_id, photo: bytes):
    variables = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "PHOTO_WITH_TIMESTAMP",
            "contentType": "image/jpeg",
            "sizeBytes": len(photo),
            "timestamp": _stamp(),
        }
    }
    requested = (await api.gql(REQUEST, variables, who.token))["evidenceUploadRequest"]
    assert requested["errors"] == [], requested["errors"]
    return requested


async def upload_photo(api, who, contribution_id) -> str:
    """A photo uploaded and processed (VERIFIED, with its EXIF)."""
    photo = make_jpeg(captured=datetime.now(UTC) - timedelta(hours=1))
    requested = await request_photo(api, who, contribution_id, photo)
    assert (await put_object(api, requested["upload"], photo, None)).status_code == 201
    evidence_id = requested["evidence"]["id"]
    await api.gql(CONFIRM, {"id": evidence_id}, who.token)
    status = "{ evidence(id: $id) { status } }"
    for _ in range(200):
        data = await api.gql(f"query($id: ID!) {status}", {"id": evidence_id}, who.token)
        if data["evidence"]["status"] == "VERIFIED":
            return evidence_id
        await asyncio.sleep(0.05)
    raise AssertionError("the photo was not processed")


async def test_evidence_answers_as_the_executor(api):
    organizer, worker, contribution = await task_contribution(api)
    stranger = await register(api, "dewi")
    verifier = await create_user(api, "rahmat", ["verifier"])
    admin = await create_user(api, "root", ["admin"])
    where = {"latitude": -7.7956, "longitude": 110.3695}
    poor = await submit(
        api,
        worker,
        contribution,
        "GPS_VERIFICATION",
        location={**where, "accuracyMeters": 150},
    )
    await submit(
        api,
        worker,
        contribution,
        "GPS_VERIFICATION",
        location={"latitude": -7.76, "longitude": 110.38, "accuracyMeters": 5},
    )
    people = [
        {"witnessName": "Pak Joko", "relationship": "SUPERVISOR", "statement": "I saw it"},
        {"witnessName": "Bu Sri", "relationship": "PEER", "contact": "+62 812"},
        {"witnessName": "Adi", "relationship": "BENEFICIARY"},
    ]
    witnessed = await submit(
        api, worker, contribution, "WITNESS_ATTESTATION", timestamp=_stamp(8), witnesses=people
    )
    photo = await upload_photo(api, worker, contribution)
    pending = await request_photo(api, worker, contribution, make_jpeg(captured=datetime.now(UTC)))
    own = (await api.gql(CONTRIBUTE, token=stranger.token))["contributionCreate"]
    stranger_contribution = own["contribution"]["id"]
    await submit(api, stranger, stranger_contribution, "GPS_VERIFICATION", location=where)

    api.services.storage.clock = lambda: FROZEN
    ids = [photo, witnessed, pending["evidence"]["id"], contribution, "bm90IGFuIGlk"]
    seen = {}
    for who in (worker, organizer, verifier, admin, stranger):
        variables = {"c": contribution, "e": photo, "ids": ids}
        data = await same(api, EVIDENCE, variables, who)
        seen[who.username] = data
        for evidence_id in (poor, witnessed):
            variables = {"c": contribution, "e": evidence_id, "ids": []}
            await same(api, EVIDENCE, variables, who)
        variables = {"c": stranger_contribution, "e": poor, "ids": [poor]}
        await same(api, EVIDENCE, variables, who)
    for name in ("budi", "siti", "rahmat", "root"):
        assert seen[name]["contribution"]["evidence"]["totalCount"] == 5
        assert seen[name]["evidence"]["fileUrl"].startswith("http://testserver/objects/photos/")
        assert f"expires={int(FROZEN) + 300}" in seen[name]["evidence"]["fileUrl"]
    assert seen["dewi"]["contribution"]["evidence"] is None
    assert seen["dewi"]["evidence"] is None and seen["dewi"]["node"] is None
    worker_view = seen["budi"]["contribution"]
    assert worker_view["evidenceQualityScore"] == 1.0
    assert worker_view["reputationMultiplier"] == 1.5
    nodes = [edge["node"] for edge in worker_view["evidence"]["edges"]]
    assert nodes[0]["warnings"] == [
        {
            "code": "POOR_GPS_ACCURACY",
            "message": "GPS accuracy is worse than 100 m",
            "__typename": "EvidenceWarning",
        }
    ]
    assert [w["code"] for w in nodes[1]["warnings"]] == ["EVIDENCE_LOCATION_SPREAD"]
    assert [w["code"] for w in nodes[2]["warnings"]] == [
        "EVIDENCE_TIME_SPREAD",
        "EVIDENCE_LOCATION_SPREAD",
    ]
    assert [w["witnessName"] for w in nodes[2]["witnesses"]] == ["Pak Joko", "Bu Sri", "Adi"]
    assert nodes[3]["exif"]["camera_make"] == "Fairphone"
    assert (nodes[4]["status"], nodes[4]["fileUrl"]) == ("PENDING_UPLOAD", None)

    first = await same(api, EVIDENCE_PAGES, {"c": contribution}, worker)
    after = first["contribution"]["forward"]["edges"][-1]["cursor"]
    await same(api, EVIDENCE_PAGES, {"c": contribution, "after": after}, organizer)
    scores = await same(api, QUALITY, {"ids": [contribution, stranger_contribution]}, stranger)
    assert [(n["evidenceQualityScore"], n["reputationMultiplier"]) for n in scores["nodes"]] == [
        (1.0, 1.5),
        (0.65, 1.2),
    ]


ACCOUNT_FIELDS = """fragment A on CreditAccount { id balanceMinutes reservedMinutes limitMinutes
  availableMinutes updatedAt community owner { username } }"""
ACCOUNTS = (
    """query Accounts($a: ID!) { me { creditAccount { ...A } }
  budi: user(by: {username: "budi"}) { username creditAccount { ...A } }
  node(id: $a) { id ... on CreditAccount { balanceMinutes } } }"""
    + ACCOUNT_FIELDS
)
ENTRY_FIELDS = """totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { __typename amountMinutes kind memo at counterparty { username }
    counterpartyIsCommunity contribution { id title } } }"""
ENTRIES = """query Entries($a: ID, $first: Int, $after: String, $last: Int) {
  creditEntries(accountId: $a, first: $first, after: $after, last: $last) { %s } }""" % (
    ENTRY_FIELDS
)
COMMUNITY = "query Community { creditCommunityAccount { ...A } }" + ACCOUNT_FIELDS


async def test_credit_answers_as_the_executor(api):
    siti = await create_user(api, "siti", ["organizer"])
    budi, dewi = await register(api, "budi"), await register(api, "dewi")
    checkers = [await create_user(api, f"checker{i}", ["verifier"]) for i in range(3)]
    root = await create_user(api, "root", ["admin"])
    task = await create_task(api, siti, title="Fix the gate", estimatedHours=2)
    await api.gql(ASSIGN, {"t": task["id"], "u": budi.id}, siti.token)
    paid = await finish(api, task["id"], budi, 1.5)
    assert await verify_all(api, checkers, paid, "APPROVED") == "VERIFIED"
    shared = await create_task(api, root, title="Sweep", payer="COMMUNITY", estimatedHours=1)
    assert (await api.gql(CLAIM, {"t": shared["id"]}, budi.token))["taskClaim"]["errors"] == []
    community_paid = await finish(api, shared["id"], budi, 0.5)
    assert await verify_all(api, checkers, community_paid, "APPROVED") == "VERIFIED"
    await transfer(api, budi, dewi, 30, "thanks")
    await transfer(api, dewi, budi, 5)
    budi_account = (await api.gql("{ me { creditAccount { id } } }", token=budi.token))["me"]

    account_id = budi_account["creditAccount"]["id"]
    seen = {}
    for who in (budi, dewi, siti, checkers[0], root):
        seen[who.username] = await same(api, ACCOUNTS, {"a": account_id}, who)
        await same(api, ENTRIES, {"first": 10}, who)
    assert seen["budi"]["budi"]["creditAccount"]["balanceMinutes"] == 90 + 30 - 30 + 5
    assert seen["root"]["budi"]["creditAccount"]["owner"] == {"username": "budi"}
    assert seen["dewi"]["budi"]["creditAccount"] is None and seen["dewi"]["node"] is None
    assert seen["siti"]["me"]["creditAccount"]["availableMinutes"] == 1200 - 90

    own = await same(api, ENTRIES, {"first": 10}, budi)
    nodes = [edge["node"] for edge in own["creditEntries"]["edges"]]
    assert [(n["amountMinutes"], n["kind"], n["memo"]) for n in nodes] == [
        (5, "TRANSFER", None),
        (-30, "TRANSFER", "thanks"),
        (30, "TASK_PAYMENT", "Sweep"),
        (90, "TASK_PAYMENT", "Fix the gate"),
    ]
    assert [n["counterparty"] and n["counterparty"]["username"] for n in nodes] == [
        "dewi",
        "dewi",
        None,
        "siti",
    ]
    assert [n["counterpartyIsCommunity"] for n in nodes] == [False, False, True, False]
    assert [n["contribution"] and n["contribution"]["id"] for n in nodes] == [
        None,
        None,
        community_paid,
        paid,
    ]
    after = own["creditEntries"]["edges"][1]["cursor"]
    await same(api, ENTRIES, {"first": 1, "after": after}, budi)
    await same(api, ENTRIES, {"last": 3}, budi)
    for who in (budi, root):
        await same(api, ENTRIES, {"a": account_id, "first": 2}, who)
    community = await same(api, COMMUNITY, {}, root)
    assert community["creditCommunityAccount"]["community"] is True
    assert community["creditCommunityAccount"]["limitMinutes"] is None

    await refused(api, ENTRIES, {"a": account_id, "first": 2}, dewi)
    await refused(api, COMMUNITY, {}, budi)
    await refused(
        api, ENTRIES, {"a": budi.id, "first": 2}, budi, "BAD_USER_INPUT", "refused arguments"
    )
