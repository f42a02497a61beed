"""Opaque global ids (Relay): base64 of `Type:uuid`."""

from __future__ import annotations

import uuid

from strawberry import relay

from gotong_gql.errors import DomainError


def parse_global_id(value: str, type_name: str, field: str) -> uuid.UUID:
    """The uuid inside a global id of `type_name`; anything else is NOT_FOUND on `field`."""
    try:
        global_id = relay.GlobalID.from_id(value)
        if global_id.type_name != type_name:
            raise ValueError(value)
        return uuid.UUID(global_id.node_id)
    except (ValueError, TypeError):
        raise DomainError("NOT_FOUND", f"no {type_name} has this id", field) from None
