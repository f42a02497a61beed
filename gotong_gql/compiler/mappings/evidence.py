"""Evidence, Witness and EvidenceWarning; Contribution.evidence and its quality; the root
`evidence(id)` and `node` for Evidence.

Visibility: evidence is for the contributor, the task's creator, verifiers and admins
(policy.SEES_EVIDENCE, the rule evidence/service.py `may_see` applies); `Contribution.evidence`
is null for other viewers, `evidence(id)` and `node` answer null. Every way to evidence needs a
signed-in viewer (the executor's `require_viewer`): an anonymous operation is not compiled.

`warnings` are the elements of the JSON column in their order (PostgreSQL
`jsonb_array_elements ... WITH ORDINALITY`, SQLite `json_each` by key). `fileUrl` is presigned
by the object store in Python (compiler/late.py): the statement marks the object key, and the
URL is signed once the statement has run, as the executor signs it (same key, same expiry, same
signature within the second). `evidenceQualityScore` and `reputationMultiplier` are the five
facts contribution/verification.py `evidence_qualities` reads (which kinds of verified evidence
exist, a GPS fix under 10 m, more than two witnesses), found in SQL; the score of each of their
32 combinations is computed by `quality_score` itself, so the numbers are the executor's.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import case, column, func, literal_column, null, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from gotong_gql import policy
from gotong_gql.compiler import late
from gotong_gql.compiler.build import Builder, Selected, Unsupported
from gotong_gql.compiler.connection import Connection
from gotong_gql.compiler.dialect import quote
from gotong_gql.compiler.mappings import content  # noqa: F401  (Contribution first)
from gotong_gql.compiler.mappings.root import VISIBLE_NODES, one
from gotong_gql.compiler.mappings.tasks import TASKS
from gotong_gql.compiler.registry import SPECS, register
from gotong_gql.compiler.specs import Column, Computed, Custom, Join, when
from gotong_gql.contribution.models import Contribution
from gotong_gql.contribution.service import EVIDENCE_ORDER
from gotong_gql.contribution.verification import quality_score, reputation_multiplier
from gotong_gql.errors import DomainError
from gotong_gql.evidence.models import Evidence, Witness
from gotong_gql.graphql.ids import parse_global_id
from gotong_gql.keyset import Listing

CONTRIBUTIONS = Contribution.__table__
EVIDENCE = Evidence.__table__
WITNESSES = Witness.__table__
VERIFIED = "verified"


def sees_evidence(b: Builder, row: Any, contribution_id: Any) -> Any:
    """Whether the viewer may see the evidence of the contribution `contribution_id` (a column
    of `row`): policy.SEES_EVIDENCE over the contribution and its task's creator."""
    if not b.signed_in:
        raise Unsupported("evidence: anonymous")
    contribution = CONTRIBUTIONS.alias()
    task = TASKS.alias()
    scope = policy.Columns(user_id=contribution.c.user_id, task_creator_id=task.c.creator_id)
    return (
        select(literal_column("1"))
        .select_from(contribution.outerjoin(task, task.c.id == contribution.c.task_id))
        .where(contribution.c.id == contribution_id, policy.SEES_EVIDENCE.sql(scope, b))
        .correlate(row)
        .exists()
    )


# Evidence -------------------------------------------------------------------------------------


def _exif(b: Builder, row: Any, selected: Selected) -> Any:
    """`metadata.exif` (null when absent), as stored: JSONB's key order is the executor's too."""
    path = quote("exif") if b.dialect.pg else literal_column("'$.exif'")
    return b.leaf(row.c.metadata.op("->")(path), selected.type)


def _warnings(b: Builder, row: Any, selected: Selected) -> Any:
    if b.dialect.pg:
        value = column("value", JSONB)
        elements = (
            func.jsonb_array_elements(row.c.warnings)
            .table_valued(value, with_ordinality="n")
            .render_derived()
        )
        code = elements.c.value.op("->>")(quote("code"))
        message = elements.c.value.op("->>")(quote("message"))
        position = elements.c.n
    else:
        elements = func.json_each(row.c.warnings).table_valued("key", "value")
        code = func.json_extract(elements.c.value, literal_column("'$.code'"))
        message = func.json_extract(elements.c.value, literal_column("'$.message'"))
        position = elements.c.key
    inner = (
        select(code.label("code"), message.label("message"), position.label("gql_n"))
        .select_from(elements)
        .correlate(row)
        .order_by(position)
        .subquery()
    )
    element = b.object("EvidenceWarning", inner, selected.nodes)
    query = select(b.dialect.array(element, inner.c.gql_n)).select_from(inner)
    query = query.scalar_subquery()
    return b.dialect.nested(query)


def _file_url(b: Builder, row: Any) -> Any:
    """The executor's `file_url`: null without a file or before it is uploaded."""
    missing = or_(row.c.object_key.is_(None), row.c.status == "pending_upload")
    return case((missing, null()), else_=late.marker(b, "file", row.c.object_key))


async def _presign(services: Any, key: str) -> str | None:
    return await services.storage.presign_get(key)


late.kind("file", _presign)

register(
    "Evidence",
    EVIDENCE,
    accuracyMeters=Column("accuracy_m"),
    exif=Custom(_exif),
    warnings=Custom(_warnings),
    witnesses=Join(
        WITNESSES,
        lambda row, witness: witness.c.evidence_id == row.c.id,
        order=lambda witness: [witness.c.created_at, witness.c.id],
    ),
    fileUrl=Computed(_file_url, convert=False),
)
register("Witness", WITNESSES)
register("EvidenceWarning", None, code=Column("code"), message=Column("message"))


# Contribution ---------------------------------------------------------------------------------


def _evidence_listing(b: Builder, args: dict[str, Any], parent: uuid.UUID | None) -> Listing:
    """The contribution's evidence, oldest first (service.evidence_of, paged by EVIDENCE_ORDER)."""
    query = select(Evidence).where(Evidence.contribution_id == parent)
    return Listing(query, EVIDENCE_ORDER)


_EVIDENCE = Connection(_evidence_listing)


def _contribution_evidence(b: Builder, row: Any, selected: Selected) -> Any:
    page = _EVIDENCE.sql(b, row, selected)  # refuses bad page arguments first, as the executor
    return b.dialect.nested(when(b, sees_evidence(b, row, row.c.id), page))


def _facts(row: Any) -> Any:
    """The five facts of the quality score as the bits of one number (see `_SCORES`)."""
    evidence = EVIDENCE.alias()

    def verified(*conditions: Any) -> Any:
        return (
            select(literal_column("1"))
            .select_from(evidence)
            .where(evidence.c.contribution_id == row.c.id, evidence.c.status == VERIFIED)
            .where(*conditions)
            .correlate(row)
            .exists()
        )

    kind = evidence.c.evidence_type
    checked = EVIDENCE.alias()
    witness = WITNESSES.alias()
    witnesses = (
        select(func.count())
        .select_from(witness.join(checked, checked.c.id == witness.c.evidence_id))
        .where(checked.c.contribution_id == row.c.id, checked.c.status == VERIFIED)
        .correlate(row)
        .scalar_subquery()
    )
    bits = [
        verified(kind == "photo_with_timestamp"),
        verified(kind == "gps_verification"),
        verified(kind == "witness_attestation"),
        verified(kind == "gps_verification", evidence.c.accuracy_m < 10),
        witnesses > 2,
    ]
    total: Any = None
    for index, bit in enumerate(bits):
        term = case((bit, literal_column(str(1 << index))), else_=literal_column("0"))
        total = term if total is None else total + term
    return total


def _score_of(facts: int) -> float:
    return quality_score(
        photo=bool(facts & 1),
        gps=bool(facts & 2),
        witness=bool(facts & 4),
        gps_accuracy_m=5.0 if facts & 8 else None,
        witnesses=3 if facts & 16 else 0,
    )


_SCORES = {facts: _score_of(facts) for facts in range(32)}


def _number(value: float) -> Any:
    """A float as the executor writes it (Python's shortest form), as a JSON number."""
    text = json.dumps(value)
    assert text.replace(".", "").replace("-", "").replace("e", "").isdigit(), text
    return literal_column(text)


def _by_facts(value_of: Any) -> Any:
    def build(b: Builder, row: Any) -> Any:
        whens = [
            (literal_column(str(facts)), _number(value_of(score)))
            for facts, score in _SCORES.items()
        ]
        return case(*whens, value=_facts(row))

    return Computed(build, convert=False)


SPECS["Contribution"].update(
    evidence=Custom(_contribution_evidence),
    evidenceQualityScore=_by_facts(lambda score: score),
    reputationMultiplier=_by_facts(reputation_multiplier),
)


# The root -------------------------------------------------------------------------------------


def _evidence_by_id(b: Builder, args: dict[str, Any], target: Any) -> Any:
    try:
        key = parse_global_id(args["id"], "Evidence", "id")
    except DomainError:
        return None
    return (target.c.id == key) & sees_evidence(b, target, target.c.contribution_id)


SPECS["Query"]["evidence"] = one("Evidence", _evidence_by_id)
VISIBLE_NODES["Evidence"] = lambda b, target: sees_evidence(b, target, target.c.contribution_id)
