"""A plan: one operation compiled to one SQL statement, and how to run it.

The statement selects three values: the operation's whole `data` as JSON text, whether the
viewer's account exists (a token can outlive its account; then the executor answers, with its
error), and whether the guards of the fields the executor refuses to some viewers hold for this
one (build.py `Builder.require`; where they do not, the executor answers with its error). Values
computed in Python after the statement (late.py) are marked in the text; `late` says whether to
look for them.

The viewer's id is the statement's one run-time parameter; everything else the operation says
(arguments, variables, directives) is fixed in the plan, whose key therefore holds the
variables' values. The SQL text depends only on the operation's shape, so PostgreSQL prepares it
once per connection (asyncpg's statement cache) whatever the values.

The statement runs on a pooled connection through the driver itself (asyncpg's `fetchrow`,
aiosqlite's `execute`), outside any transaction: one statement is one snapshot, and the request
costs one round trip, not BEGIN, SELECT and ROLLBACK.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode
from sqlalchemy import Text, and_, case, cast, exists, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gotong_gql.compiler import registry
from gotong_gql.compiler.build import VIEWER_ID, Builder, Selected, Unsupported
from gotong_gql.compiler.dialect import Dialect
from gotong_gql.graphql.permissions import IsAuthenticated
from gotong_gql.user.models import User


@dataclass(frozen=True)
class Plan:
    sql: str
    names: tuple[str, ...]  # the positional parameters' names
    values: dict[str, Any]  # their values, processed for the driver (the viewer's is set per run)
    processors: dict[str, Any]
    pg: bool
    late: bool = False  # the data holds late.py markers
    # Whether the data depends on who the (signed-in) viewer is: their id or roles. When not,
    # every signed-in viewer gets the same data (a subscription group reads it once per event).
    per_viewer: bool = True

    def processed(self, name: str, value: Any) -> Any:
        """`value` as the driver takes it for parameter `name` (as `values` holds them)."""
        processor = self.processors.get(name)
        return processor(value) if processor is not None else value

    def arguments(
        self, viewer_id: uuid.UUID | None, overrides: dict[str, Any] | None = None
    ) -> list[Any]:
        """The statement's positional values; `overrides` replaces some (already processed)."""
        given = self.values if not overrides else {**self.values, **overrides}
        values = []
        for name in self.names:
            value = viewer_id if name == VIEWER_ID else given[name]
            if name == VIEWER_ID and name in self.processors:
                value = self.processors[name](value)
            values.append(value)
        return values

    async def run(
        self,
        engine: AsyncEngine,
        viewer_id: uuid.UUID | None,
        overrides: dict[str, Any] | None = None,
    ) -> tuple[str, bool, bool]:
        """The `data` JSON text, whether the viewer (if any) exists, and whether the guards hold
        for them."""
        arguments = self.arguments(viewer_id, overrides)
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            if self.pg:
                row = await driver.fetchrow(self.sql, *arguments)
            else:
                cursor = await driver.execute(self.sql, arguments)
                try:
                    row = await cursor.fetchone()
                finally:
                    await cursor.close()
        assert row is not None
        return row[0], bool(row[1]), bool(row[2])


def compile_operation(
    *,
    strawberry_schema: Any,
    operation: OperationDefinitionNode,
    fragments: dict[str, Any],
    variables: Any,
    engine: AsyncEngine,
    settings: Any,
    signed_in: bool,
) -> Plan:
    """The plan of a validated query operation, or `Unsupported`."""
    registry.load()
    schema: GraphQLSchema = strawberry_schema._schema
    dialect = Dialect(engine.dialect.name)
    builder = Builder(
        dialect=dialect,
        schema=schema,
        fragments=fragments,
        variables=variables,
        settings=settings,
        signed_in=signed_in,
        strawberry=strawberry_schema,
    )
    root = schema.query_type
    assert root is not None
    pairs = []
    for selected in builder.root(root, operation.selection_set):
        pairs.append((selected.name, _root_field(builder, selected)))
    if not pairs:
        raise Unsupported("empty")
    per_viewer = builder.viewer_uses > 0
    users = User.__table__
    viewer_exists: Any = literal_column("1")
    if signed_in:
        viewer_exists = exists(select(users.c.id).where(users.c.id == builder.viewer_id))
    data = dialect.obj(pairs)
    if dialect.pg:
        data = cast(data, Text)  # text, not json: the driver would decode it
    admitted: Any = literal_column("1")
    if builder.guards:
        admitted = case((and_(*builder.guards), literal_column("1")), else_=literal_column("0"))
    statement = select(
        data.label("data"), viewer_exists.label("viewer"), admitted.label("admitted")
    )
    state, processors = _compiled(statement, engine)
    names = tuple(state.positiontup or ())
    params = state.parameters
    values = {
        name: processors[name](params[name]) if name in processors else params[name]
        for name in names
        if name != VIEWER_ID
    }
    return Plan(
        state.statement, names, values, processors, dialect.pg, bool(builder.late), per_viewer
    )


STATEMENTS: OrderedDict[Any, Any] = OrderedDict()
STATEMENT_CACHE_SIZE = 500


def _compiled(statement: Any, engine: AsyncEngine) -> tuple[Any, dict[str, Any]]:
    """The statement's SQL and parameters (an `ExpandedState`), its text compiled once per
    shape: SQLAlchemy's cache key leaves the bound values out, so two operations that differ
    only in their values (another task's id, another page size) share one compiled statement,
    and the values are taken from the new one. Expanding IN lists are rendered per call (their
    length is in the text). Uses the compiler's documented `construct_expanded_state` path with
    the extracted parameters of the cache key, as SQLAlchemy's own compiled cache does."""
    key = statement._generate_cache_key()
    shape = (engine.dialect.name, key.key)
    compiled = STATEMENTS.get(shape)
    if compiled is None:
        # With its cache key, the compiled statement can map another statement's values.
        compiled = statement.compile(dialect=engine.dialect, cache_key=key)
        STATEMENTS[shape] = compiled
        while len(STATEMENTS) > STATEMENT_CACHE_SIZE:
            STATEMENTS.popitem(last=False)
        extracted = None
    else:
        STATEMENTS.move_to_end(shape)
        extracted = key.bindparams
    parameters = compiled.construct_params(extracted_parameters=extracted, _no_postcompile=True)
    state = compiled._process_parameters_for_postcompile(parameters)
    # The expanded IN parameters' processors, and every other parameter's.
    return state, {**compiled._bind_processors, **state.processors}


def _root_field(builder: Builder, selected: Selected) -> Any:
    name = selected.nodes[0].name.value
    if name == "__typename":
        from gotong_gql.compiler.dialect import quote

        return quote("Query")
    if name.startswith("__"):
        raise Unsupported("introspection")
    declared = registry.strawberry_field(selected.definition)
    permissions = getattr(declared, "permission_classes", None) or []
    if IsAuthenticated in permissions and not builder.signed_in:
        raise Unsupported("unauthenticated")
    spec = registry.spec_of("Query", selected.definition, name)
    return spec.sql(builder, None, selected)
