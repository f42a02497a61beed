"""Which spec each field of each compiled type has.

A mapping module (compiler/mappings/) calls `register(type_name, table, field=spec, ...)` for a
GraphQL type whose rows are rows of `table`. A field not named there is compiled only when it is a
plain Strawberry field (no resolver: its value is the attribute `from_row` copies) whose Python
name is a column of the table; a Node's `id` is its global id. Any other field, and any type not
registered, is `Unsupported`: the operation runs on the executor.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLField
from sqlalchemy import Table

from gotong_gql.compiler.build import Unsupported
from gotong_gql.compiler.specs import Column, GlobalId, Spec

TABLES: dict[str, Table] = {}
SPECS: dict[str, dict[str, Spec]] = {}
STRAWBERRY = "strawberry-definition"


def register(type_name: str, table: Table | None, **fields: Spec) -> None:
    if table is not None:
        TABLES[type_name] = table
    SPECS[type_name] = dict(fields)


def strawberry_field(definition: GraphQLField) -> Any:
    return (definition.extensions or {}).get(STRAWBERRY)


def spec_of(type_name: str, definition: GraphQLField, field_name: str) -> Spec:
    specs = SPECS.get(type_name)
    if specs is None:
        raise Unsupported(type_name)
    spec = specs.get(field_name)
    if spec is not None:
        return spec
    table = TABLES.get(type_name)
    declared = strawberry_field(definition)
    if table is not None and field_name == "id" and "id" in table.c:
        spec = GlobalId(type_name)
    elif (
        table is not None
        and declared is not None
        and declared.base_resolver is None
        and declared.python_name in table.c
    ):
        spec = Column(declared.python_name)
    else:
        raise Unsupported(f"{type_name}.{field_name}")
    specs[field_name] = spec
    return spec


def load() -> None:
    """Imports every mapping (each registers its types)."""
    from gotong_gql.compiler.mappings import (  # noqa: F401
        content,
        credit,
        evidence,
        ops,
        people,
        root,
        tasks,
    )
