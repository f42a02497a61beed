"""The SQL that builds JSON, for each engine.

PostgreSQL: `json_build_object` and `json_agg` over `json` (not `jsonb`, which would reorder
the keys); timestamps by `to_char`, global ids by `encode(..., 'base64')`. SQLite: `json_object`
and `json_group_array`; what it lacks (base64, the DateTime form from its stored text, a uuid with
hyphens from its 32 hex digits) are Python functions registered on each connection (`FUNCTIONS`,
see db.py). SQLite forgets that a value is JSON when it comes out of a subquery, so every nested
object or list is wrapped in `json()` there.

Every key and every type name in the SQL is a literal (GraphQL names are `[_A-Za-z0-9]+`), so a
statement's text depends only on the shape of the operation, and PostgreSQL prepares it once.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Text, case, cast, func, literal_column, null
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.dialects.postgresql import aggregate_order_by


def quote(text: str) -> Any:
    """A SQL string literal of a GraphQL name (letters, digits, underscores: nothing to escape)."""
    assert text.replace("_", "").replace(":", "").replace(",", "").isalnum(), text
    return literal_column(f"'{text}'")


def _sqlite_gid(type_name: str | None, value: Any) -> str | None:
    if value is None:
        return None
    return base64.b64encode(f"{type_name}:{uuid.UUID(str(value))}".encode()).decode()


def _sqlite_datetime(value: str | None) -> str | None:
    """SQLite keeps `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (db.UTCDateTime); the API's form."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sqlite_uuid(value: Any) -> str | None:
    return None if value is None else str(uuid.UUID(str(value)))


FUNCTIONS = {
    "gql_gid": (2, _sqlite_gid),
    "gql_datetime": (1, _sqlite_datetime),
    "gql_uuid": (1, _sqlite_uuid),
}


class Dialect:
    def __init__(self, name: str) -> None:
        assert name in ("postgresql", "sqlite"), name
        self.name = name
        self.pg = name == "postgresql"

    def obj(self, pairs: Sequence[tuple[str, Any]]) -> ColumnElement[Any]:
        arguments: list[Any] = []
        for key, value in pairs:
            arguments += [quote(key), value]
        if self.pg:
            return func.json_build_object(*arguments, type_=PG_JSON)
        return func.json_object(*arguments)

    def nested(self, expression: Any) -> Any:
        """A JSON value that comes out of a subquery."""
        return expression if self.pg else func.json(expression)

    def array(self, element: Any, ordinal: Any, element_is_json: bool = True) -> Any:
        """The JSON array of `element` over the rows of a FROM, in the order of `ordinal` ([]
        for none). SQLite aggregates in the order of the subquery the rows come from (3.40 has
        no ORDER BY in an aggregate): the callers order that subquery by the same keys."""
        if self.pg:
            aggregated = func.json_agg(aggregate_order_by(element, ordinal), type_=PG_JSON)
            return func.coalesce(aggregated, literal_column("'[]'::json", PG_JSON))
        return func.json_group_array(func.json(element) if element_is_json else element)

    def values(self, elements: Sequence[Any]) -> Any:
        """A JSON array of these JSON values, in this order."""
        if self.pg:
            return func.json_build_array(*elements, type_=PG_JSON)
        return func.json_array(*(func.json(element) for element in elements))

    def boolean(self, condition: Any) -> Any:
        if self.pg:
            return cast(condition, Boolean)
        return case(
            (condition, func.json(literal_column("'true'"))),
            (~condition, func.json(literal_column("'false'"))),
            else_=null(),
        )

    def truth(self, condition: Any) -> Any:
        """A condition that is never NULL (false where SQL would say unknown)."""
        return func.coalesce(condition, False) if self.pg else func.coalesce(condition, 0) == 1

    def datetime(self, column: Any) -> Any:
        if self.pg:
            return func.to_char(
                func.timezone(literal_column("'UTC'"), column),
                literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''),
            )
        return func.gql_datetime(column)

    def global_id(self, type_name: str, column: Any) -> Any:
        if self.pg:
            text = literal_column(f"'{type_name}:'", Text) + cast(column, Text)
            return func.encode(func.convert_to(text, literal_column("'UTF8'")), quote("base64"))
        return func.gql_gid(quote(type_name), column)

    def uuid_text(self, column: Any) -> Any:
        if self.pg:
            return cast(column, Text)
        return func.gql_uuid(column)

    def json_value(self, column: Any) -> Any:
        if self.pg:
            return cast(column, PG_JSON)
        return func.json(column)
