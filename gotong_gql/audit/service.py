from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from gotong_gql.audit.chain import AUDIT_CHAIN, Link, audit_content
from gotong_gql.audit.models import AuditLog
from gotong_gql.keyset import Key, Listing, Order
from gotong_gql.rows import rows_of
from gotong_gql.uow import UnitOfWork


def snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON-able copy of the named attributes of a row, for the before/after of an entry."""
    return {name.rstrip("_"): _jsonable(getattr(row, name)) for name in fields}


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def record(
    uow: UnitOfWork,
    action: str,
    entity: str,
    entity_id: uuid.UUID,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """An audit entry, written with the unit of work's commit as a link of the audit chain."""
    entry = AuditLog(
        actor_id=uow.actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=_jsonable(before),
        after=_jsonable(after),
        request_id=uow.request_id,
    )
    uow.append_to_chain(Link(AUDIT_CHAIN, entry, audit_content(entry)))
    return entry


HISTORY_ORDER = Order(
    "AuditEntry", "AT_ASC", (Key(AuditLog.at, "timestamp"), Key(AuditLog.id, "uuid"))
)


def entry_listing(entity: str, entity_id: uuid.UUID) -> Listing:
    """An entity's audit trail, oldest first."""
    query = rows_of(AuditLog).where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
    return Listing(query, HISTORY_ORDER, rows=True)
