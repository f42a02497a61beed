"""The seeded data of the differential test (`plan.py` says what), made through the API.

The reference app's mutations make everything the API can make, as the users themselves would:
accounts and roles, profiles, tasks in every status with their assignment history, completions
and standalone contributions, evidence of the three kinds (photos uploaded, hashed and EXIF-read
by the in-process job; GPS fixes; witnesses), verifications up to the quorum (a payment in time
credit follows), vouches, transfers, a credit limit, a replayed dead letter; the audit trail and
the outbox come with them. What only time or Markov makes is written behind the API's back, as
the worker would: delivered, processing and failed events with their dead letters, cached
reputations, a linked OIDC identity. The structure is deterministic (photo pixels come from a
seeded generator); ids and times are the run's, handed to the corpus in `Seed`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import piexif
from PIL import Image
from sqlalchemy import select, update
from strawberry import relay

from gotong_gql.oidc.models import OidcIdentity
from gotong_gql.reputation.models import ReputationCache
from gotong_gql.webhook.models import WebhookEvent, WebhookFailure
from tests.compiler import plan
from tests.helpers import Account, create_user, register

MUTATIONS = {
    "update": "accountUpdate(input: $input) { errors { code } }",
    "task": "taskCreate(input: $input) { task { id } errors { code path } }",
    "assign": "taskAssign(input: $input) { errors { code } }",
    "claim": "taskClaim(input: $input) { errors { code } }",
    "start": "taskStart(input: $input) { errors { code } }",
    "cancel": "taskCancel(input: $input) { errors { code } }",
    "complete": "taskComplete(input: $input) { contribution { id } errors { code } }",
    "contribute": "contributionCreate(input: $input) { contribution { id } errors { code } }",
    "verify": "contributionVerify(input: $input) { verification { id } errors { code } }",
    "submit": "evidenceSubmit(input: $input) { evidence { id } errors { code path } }",
    "upload": "evidenceUploadRequest(input: $input) { evidence { id }"
    " upload { url headers { name value } } errors { code path } }",
    "confirm": "evidenceUploadConfirm(input: $input) { errors { code } }",
    "vouch": "vouchCreate(input: $input) { vouch { id } errors { code } }",
    "transfer": "creditTransfer(input: $input) { errors { code } }",
    "limit": "creditLimitSet(input: $input) { errors { code } }",
    "replay": "webhookEventReplay(input: $input) { errors { code } }",
}
INPUT_TYPES = {
    "update": "AccountUpdateInput",
    "task": "TaskCreateInput",
    "assign": "TaskAssignInput",
    "claim": "TaskIdInput",
    "start": "TaskIdInput",
    "cancel": "TaskCancelInput",
    "complete": "TaskCompleteInput",
    "contribute": "ContributionCreateInput",
    "verify": "ContributionVerifyInput",
    "submit": "EvidenceSubmitInput",
    "upload": "EvidenceUploadRequestInput",
    "confirm": "EvidenceUploadConfirmInput",
    "vouch": "VouchCreateInput",
    "transfer": "CreditTransferInput",
    "limit": "CreditLimitSetInput",
    "replay": "WebhookEventReplayInput",
}
STATUS = "query($id: ID!) { evidence(id: $id) { status } }"
ACCOUNT = "{ me { creditAccount { id } } }"
IDS = """{ creditCommunityAccount { id }
  skills(first: 100) { edges { node { id name } } }
  webhookEvents(first: 100) { edges { node { eventId } } } }"""


@dataclass
class Seed:
    """What the corpus needs to name real rows: global ids by type, names, the viewers' tokens."""

    tokens: dict[str, str | None]
    users: dict[str, str] = field(default_factory=dict)  # username -> User id
    tasks: dict[str, str] = field(default_factory=dict)  # label -> Task id
    contributions: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    verifications: list[str] = field(default_factory=list)
    vouches: list[str] = field(default_factory=list)
    skills: dict[str, str] = field(default_factory=dict)  # name -> Skill id
    credit_accounts: dict[str, str] = field(default_factory=dict)  # username|community -> id
    event_ids: list[str] = field(default_factory=list)  # newest first

    def ids(self, type_name: str) -> list[str]:
        """The global ids of every seeded row of a Node type, in a fixed order."""
        return {
            "User": list(self.users.values()),
            "Task": list(self.tasks.values()),
            "Contribution": list(self.contributions.values()),
            "Evidence": list(self.evidence.values()),
            "Verification": self.verifications,
            "Vouch": self.vouches,
            "Skill": list(self.skills.values()),
            "CreditAccount": list(self.credit_accounts.values()),
        }[type_name]


class Seeder:
    def __init__(self, api: Any) -> None:
        self.api = api
        self.people: dict[str, Account] = {}
        self.now = datetime.now(UTC).replace(microsecond=0)

    async def do(self, who: str, mutation: str, **fields: Any) -> dict[str, Any]:
        """One mutation as `who`, which must succeed; its payload."""
        document = f"mutation($input: {INPUT_TYPES[mutation]}!) {{ {MUTATIONS[mutation]} }}"
        data = await self.api.gql(document, {"input": fields}, self.people[who].token)
        (payload,) = data.values()
        assert payload["errors"] == [], (mutation, fields, payload)
        return payload

    def id(self, name: str) -> str:
        return self.people[name].id


def jpeg(rng: random.Random, captured: datetime) -> bytes:
    """A real JPEG over 50 KB with EXIF (camera, capture time, GPS), pixels from `rng`."""
    exif = {
        "0th": {piexif.ImageIFD.Make: b"Fairphone", piexif.ImageIFD.Model: b"FP5"},
        "Exif": {
            piexif.ExifIFD.DateTimeOriginal: captured.strftime("%Y:%m:%d %H:%M:%S").encode(),
            piexif.ExifIFD.OffsetTimeOriginal: b"+00:00",
        },
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"S",
            piexif.GPSIFD.GPSLatitude: ((7, 1), (48, 1), (504, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: ((110, 1), (21, 1), (5292, 100)),
        },
    }
    image = Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=piexif.dump(exif))
    return buffer.getvalue()


async def seed(api: Any) -> Seed:
    """Everything of `plan.py`, through `api` (the reference app)."""
    s = Seeder(api)
    for name, roles in plan.USERS:
        s.people[name] = await (
            register(api, name) if roles is None else create_user(api, name, roles)
        )
    for name, profile in plan.PROFILES.items():
        await s.do(name, "update", **profile)

    tasks: dict[str, str] = {}
    for index, line in enumerate(plan.TASKS.strip().splitlines()):
        label, creator, fields = plan.task_input(index, line)
        tasks[label] = (await s.do(creator, "task", **fields))["task"]["id"]
        await asyncio.sleep(0.002)  # distinct creation times: orders are not all ties
    for step in plan.STEPS.strip().splitlines():
        who, mutation, label, *assignee = step.split()
        fields = {"taskId": tasks[label]}
        if assignee:
            fields["assigneeId"] = s.id(assignee[0])
        if mutation == "cancel":
            fields["reason"] = "rainy season"
        await s.do(who, mutation, **fields)

    contributions: dict[str, str] = {}
    for label, who, fields in plan.COMPLETIONS:
        done = await s.do(who, "complete", taskId=tasks[label], **fields)
        contributions[label] = done["contribution"]["id"]
    for label, who, fields in plan.STANDALONE:
        contributions[label] = (await s.do(who, "contribute", **fields))["contribution"]["id"]

    evidence = await _evidence(s, contributions)
    verifications = []
    for label, outcome, verifiers in plan.VERIFICATIONS:
        for index, verifier in enumerate(verifiers):
            fields = {"contributionId": contributions[label], "outcome": outcome}
            if index == 1:
                fields |= {"evidenceQualityScore": 0.75, "notes": f"Checked by {verifier}."}
            verifications.append((await s.do(verifier, "verify", **fields))["verification"]["id"])
    vouches = []
    for voucher, vouchee, fields in plan.VOUCHES:
        made = await s.do(voucher, "vouch", voucheeId=s.id(vouchee), **fields)
        vouches.append(made["vouch"]["id"])
    for sender, receiver, minutes, memo in plan.TRANSFERS:
        await s.do(sender, "transfer", toUserId=s.id(receiver), minutes=minutes, memo=memo)
    await s.do("admin", "limit", userId=s.id("eko"), limitMinutes=-600)

    ids = await api.gql(IDS, token=s.people["admin"].token)
    event_ids = [edge["node"]["eventId"] for edge in ids["webhookEvents"]["edges"]]
    replayed = await _webhook_states(api, list(reversed(event_ids)), s.now)
    await s.do("admin", "replay", eventId=replayed)
    await _behind_the_api(api, s)

    result = Seed(
        tokens={
            viewer: None if name is None else s.people[name].token
            for viewer, name in plan.VIEWER_ACCOUNTS.items()
        },
        users={name: account.id for name, account in s.people.items()},
        tasks=tasks,
        contributions=contributions,
        evidence=evidence,
        verifications=verifications,
        vouches=vouches,
        skills={edge["node"]["name"]: edge["node"]["id"] for edge in ids["skills"]["edges"]},
        event_ids=event_ids,
    )
    result.credit_accounts["community"] = ids["creditCommunityAccount"]["id"]
    for name, account in s.people.items():
        me = (await api.gql(ACCOUNT, token=account.token))["me"]
        if me["creditAccount"]:
            result.credit_accounts[name] = me["creditAccount"]["id"]
    return result


async def _evidence(s: Seeder, contributions: dict[str, str]) -> dict[str, str]:
    evidence: dict[str, str] = {}
    taken = (s.now - timedelta(minutes=30)).isoformat()
    for label, contribution, who, fields in plan.SUBMITTED:
        made = await s.do(
            who, "submit", contributionId=contributions[contribution], timestamp=taken, **fields
        )
        evidence[label] = made["evidence"]["id"]
    rng = random.Random(1313)
    for label, claim in plan.PHOTOS:
        photo = jpeg(rng, s.now - timedelta(minutes=30))
        requested = await s.do(
            "budi",
            "upload",
            contributionId=contributions["completed"],
            evidenceType="PHOTO_WITH_TIMESTAMP",
            contentType="image/jpeg",
            sizeBytes=len(photo),
            timestamp=taken,
            mediaHash=hashlib.sha256(photo if claim == "right" else b"another file").hexdigest(),
            location={"latitude": -7.8014, "longitude": 110.3647},
        )
        evidence[label] = requested["evidence"]["id"]
        if claim is None:
            continue
        upload = requested["upload"]
        headers = {header["name"]: header["value"] for header in upload["headers"]}
        put = await s.api.client.put(upload["url"], content=photo, headers=headers)
        assert put.status_code in (200, 201), put.text
        await s.do("budi", "confirm", evidenceId=evidence[label])
        expected = "VERIFIED" if claim == "right" else "REJECTED"
        for _ in range(1000):  # the in-process job hashes it and reads its EXIF
            found = await s.api.gql(STATUS, {"id": evidence[label]}, s.people["budi"].token)
            if found["evidence"]["status"] == expected:
                break
            await asyncio.sleep(0.02)
        assert found["evidence"]["status"] == expected
    return evidence


async def _webhook_states(api: Any, oldest_first: list[str], now: datetime) -> str:
    """The oldest events in the states of WEBHOOK_STATES; the first failed one's event_id."""
    failed = []
    async with api.services.session_factory() as session:
        states = zip(oldest_first, plan.WEBHOOK_STATES, strict=False)
        for index, (event_id, (state, code)) in enumerate(states):
            values: dict[str, Any] = {"status": state, "attempts": 1 + index % 5}
            values["last_attempt_at"] = now - timedelta(seconds=60 - index)
            values["last_status_code"] = code
            if state == "delivered":
                values["delivered_at"] = now - timedelta(seconds=30 - index)
            elif state == "processing":
                values |= {"lease_until": now + timedelta(hours=1), "next_attempt_at": now}
            else:
                failed.append(event_id)
                values["error"] = f"attempt {index} failed"
                event_type = await session.scalar(
                    select(WebhookEvent.event_type).where(WebhookEvent.event_id == event_id)
                )
                session.add(
                    WebhookFailure(
                        event_id=event_id,
                        event_type=event_type,
                        payload=b"{}",
                        error=values["error"],
                        status_code=code,
                        attempts=5,
                        retryable=code != 400,
                        next_retry_at=None if code == 400 else now + timedelta(hours=1 + index),
                    )
                )
            await session.execute(
                update(WebhookEvent).where(WebhookEvent.event_id == event_id).values(**values)
            )
            await session.flush()
        await session.commit()
    return failed[0]


async def _behind_the_api(api: Any, s: Seeder) -> None:
    """Markov's cached reputations (budi's; dewi's with a tier this server does not know) and
    an OIDC identity linked to budi."""

    def row_id(name: str) -> uuid.UUID:
        return uuid.UUID(relay.GlobalID.from_id(s.id(name)).node_id)

    skills = [{"skill_id": "carpentry", "competence": 0.7}]
    async with api.services.session_factory() as session:
        session.add_all(
            [
                ReputationCache(
                    user_id=row_id("budi"),
                    score=0.82,
                    tier="trusted",
                    contributions_count=2,
                    vouches_received=3,
                    skills=skills,
                    cached_at=s.now,
                ),
                ReputationCache(
                    user_id=row_id("dewi"),
                    score=0.4,
                    tier="mystery",
                    contributions_count=1,
                    vouches_received=2,
                    cached_at=s.now - timedelta(days=1),
                ),
                OidcIdentity(
                    user_id=row_id("budi"),
                    provider="example",
                    subject="budi-at-example",
                    email="budi@example.org",
                    linked_at=s.now,
                ),
            ]
        )
        await session.commit()
