"""Issue 13's differential test: the compiled read path answers as the executor does.

Two apps on one seeded database (`seed.py`): the reference with GRAPHQL_COMPILED_READS=false
(every request on the Strawberry executor) and the one under test with it true. Over 300 query
operations generated from the schema (`corpus.py`, `arguments.py`), every query operation of
README.md and documents that break the limits or the rules (`extra.py`) run as anonymous, a
contributor, an organizer (the creator of most tasks), a verifier and an admin through both
apps; status, media type and body must be equal (`runner.py` says how they are compared).
With `-s` the report shows the corpus, the share of error-free answers the compiled path gave
and the read paths with their fallback reasons.

    GOTONG_TEST_DB=postgres .venv/bin/pytest tests/compiler -s
    GOTONG_TEST_DB=sqlite .venv/bin/pytest tests/compiler -s
"""

from __future__ import annotations

import contextlib
import io
import itertools
import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ObjectValueNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    value_from_ast_untyped,
    visit,
)

from gotong_gql.app import create_app
from gotong_gql.graphql.schema import schema
from tests.compiler.arguments import Arguments, collect_cursors, harvest_queries
from tests.compiler.corpus import Generator, Operation
from tests.compiler.extra import readme_operations, special_operations
from tests.compiler.runner import app_settings, report, run_corpus
from tests.compiler.seed import Seed, seed
from tests.conftest import BACKEND, CLIENT_HEADERS, Api, StatementCounter, truncate_all

pytestmark = pytest.mark.asyncio(loop_scope="module")
CORPUS_SEED = 13
RANDOM_OPERATIONS = 100
# Signed URLs (Evidence.fileUrl) carry their expiry: both stores sign with this clock.
FIXED_CLOCK = 2_000_000_000.0


@dataclass
class Stage:
    reference: httpx.AsyncClient
    compiled: httpx.AsyncClient
    seed: Seed
    generated: list[Operation]
    readme: list[Operation]
    special: list[Operation]
    generator: Generator
    cursors: dict[str, list[str]]

    @property
    def operations(self) -> list[Operation]:
        return self.generated + self.readme + self.special


async def harvest(client: httpx.AsyncClient, seeded: Seed) -> dict[str, list[str]]:
    """Real cursors of every connection and order, from the reference app's answers (admin)."""
    api = Api(client=client, app=None, statements=StatementCounter())
    cursors: dict[str, list[str]] = {}
    for key, document, variables in harvest_queries(seeded):
        data = await api.gql(document, variables, seeded.tokens["admin"])
        cursors.setdefault(key, []).extend(collect_cursors(data))
    return cursors


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stage(database: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stage]:
    var_dir = tmp_path_factory.mktemp("compiler") / "var"
    async with AsyncExitStack() as stack:
        clients = []
        apps = []
        for compiled in (False, True):
            app = create_app(app_settings(database.url, var_dir, compiled))
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                # An exception that escapes the app is its 500 answer (a server's), compared.
                transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                base_url="http://testserver",
                headers=CLIENT_HEADERS,
            )
            clients.append(await stack.enter_async_context(client))
            apps.append(app)
        reference = Api(client=clients[0], app=apps[0], statements=StatementCounter())
        try:
            timings = {"started": time.monotonic()}
            with contextlib.redirect_stdout(io.StringIO()):  # the request log (structlog)
                seeded = await seed(reference)
                timings["seeded"] = time.monotonic()
                for app in apps:
                    app.state.services.storage.clock = lambda: FIXED_CLOCK
                rng = random.Random(CORPUS_SEED)
                arguments = Arguments(seeded, await harvest(clients[0], seeded), rng)
                timings["harvested"] = time.monotonic()
            generator = Generator(schema._schema, arguments, rng)
            generated = generator.systematic() + generator.random_operations(RANDOM_OPERATIONS)
            timings["generated"] = time.monotonic()
            steps = list(timings.items())
            print(
                "\nsetup: "
                + ", ".join(f"{b[0]} in {b[1] - a[1]:.0f} s" for a, b in itertools.pairwise(steps))
            )
            yield Stage(
                reference=clients[0],
                compiled=clients[1],
                seed=seeded,
                generated=generated,
                readme=readme_operations(schema._schema, seeded),
                special=special_operations(seeded),
                generator=generator,
                cursors=arguments.cursors,
            )
        finally:
            await truncate_all(apps[0].state.services.engine)


def keys_of(value: Any) -> set[str]:
    """The keys of every object inside a variable's value: input fields given by variable."""
    if isinstance(value, dict):
        return set(value).union(*map(keys_of, value.values()))
    if isinstance(value, list):
        return set().union(*map(keys_of, value))
    return set()


def orders_of(value: Any) -> set[tuple[str, str]]:
    """The (field, direction) of every TaskOrderInput inside a variable's value."""
    found = set()
    if isinstance(value, dict):
        if isinstance(value.get("field"), str):
            found.add((value["field"], value.get("direction", "DESC")))
        for item in value.values():
            found |= orders_of(item)
    return found


class Census(Visitor):
    """What a corpus uses: arguments of fields, input fields (literal or by variable), orders,
    aliases, fragments, directives, variables, `__typename`."""

    def __init__(self) -> None:
        super().__init__()
        self.arguments: set[str] = set()
        self.input_fields: set[str] = set()
        self.orders: set[tuple[str, str]] = set()
        self.values: dict[str, Any] = {}
        self.counts = dict.fromkeys(["alias", "spread", "inline", "directive", "variable"], 0)
        self.counts["__typename"] = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.counts["alias"] += node.alias is not None
        self.counts["directive"] += len(node.directives or ())
        self.counts["__typename"] += node.name.value == "__typename"
        for argument in node.arguments or ():
            self.arguments.add(f"{node.name.value}.{argument.name.value}")

    def begin(self, variables: dict[str, Any]) -> None:
        """The next operation, with its variables."""
        self.values = dict(variables)
        self.input_fields |= keys_of(variables)
        self.orders |= orders_of(variables)

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        if node.default_value is not None:
            default = value_from_ast_untyped(node.default_value)
            self.values.setdefault(node.variable.name.value, default)
            self.input_fields |= keys_of(default)
            self.orders |= orders_of(default)

    def value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.values.get(node.name.value)
        return value_from_ast_untyped(node) if node is not None else None

    def enter_object_value(self, node: ObjectValueNode, *_: Any) -> None:
        given = {field.name.value: field.value for field in node.fields}
        self.input_fields |= set(given)
        if "field" in given:
            direction = self.value(given.get("direction")) or "DESC"
            self.orders.add((self.value(given["field"]), direction))

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.counts["spread"] += 1

    def enter_inline_fragment(self, node: InlineFragmentNode, *_: Any) -> None:
        self.counts["inline"] += 1

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        self.counts["variable"] += len(node.variable_definitions or ())


async def test_the_corpus_covers_the_schema(stage: Stage) -> None:
    """Over 300 generated operations, with every argument of every root field, every field of
    their inputs, every order, and each device of the language many times."""
    assert len(stage.generated) >= 300
    assert [key for key, found in stage.cursors.items() if not found] == []
    census = Census()
    for operation in stage.generated:
        census.begin(operation.variables)
        visit(parse(operation.document), census)
    query = schema._schema.query_type
    every_argument = {f"{name}.{arg}" for name, field in query.fields.items() for arg in field.args}
    assert every_argument - census.arguments == set()
    inputs = ["TaskFilterInput", "NearInput", "TaskOrderInput", "UserFilterInput", "UserByInput"]
    inputs += ["ContributionFilterInput", "VouchFilterInput", "WebhookEventFilterInput"]
    every_input_field = {f for name in inputs for f in schema._schema.type_map[name].fields}
    assert every_input_field - census.input_fields == set()
    fields = schema._schema.type_map["TaskOrderField"].values
    assert census.orders >= {(f, d) for f in fields for d in ("ASC", "DESC")}, census.orders
    assert min(census.counts.values()) >= 20, census.counts
    assert stage.readme, "README.md shows no query operation"


async def test_both_paths_answer_alike(stage: Stage) -> None:
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):  # the request log (structlog prints it)
        tally = await run_corpus(
            stage.reference, stage.compiled, stage.operations, stage.seed.tokens
        )
    sizes = {
        "generated": len(stage.generated),
        "of them random": sum(op.name.startswith("random") for op in stage.generated),
        "README": len(stage.readme),
        "limits and rules": len(stage.special),
        "viewers": len(stage.seed.tokens),
    }
    print("\n" + report(BACKEND, sizes, tally, stage.generator.verdicts))
    print(f"  (whole test {time.monotonic() - started:.0f} s)")
    assert tally.faults == [], f"{len(tally.faults)} server faults; the first:\n" + "\n\n".join(
        tally.faults[:3]
    )
    # Issue 13's goal is 90%; measured 91.5% on PostgreSQL and 81.4% on SQLite (where deeply
    # nested statements exceed SQLite's parser stack and go to the executor). A floor below
    # both, so that a compiler that stops compiling fails here.
    share = tally.compiled / max(tally.error_free, 1)
    assert share >= 0.75, f"the compiled path answered only {share:.1%} of error-free answers"
    assert tally.mismatches == [], (
        f"{len(tally.mismatches)} answers differ:\n"
        + "\n".join(tally.differences)
        + "\n\nThe first in full:\n\n"
        + "\n\n".join(tally.mismatches[:3])
    )
