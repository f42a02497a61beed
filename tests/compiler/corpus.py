"""The corpus of the differential test: query operations generated from the schema.

Deterministic: one `random.Random(seed)` drives every choice, and the seeded rows and harvested
cursors it picks from come in a fixed order, so the same seed gives the same operations (their
ids and cursors are those of the run). Made from graphql-core's schema (Strawberry's
`schema._schema`, the one `schema.graphql` is printed from):

- selection sets of random fields to depth 5 (a connection, its `edges` and `node` count as one
  level), with aliases, `__typename`, inline fragments (with and without a type condition, on
  the `Node` interface and its types) and named fragments (spread once or twice), `@include` and
  `@skip` with literal and variable conditions;
- arguments from `arguments.py`, each written as a literal or as a variable (of the position's
  type, at any depth of an input object), now and then with a default that the request omits;
- `systematic()`: every argument set of `Arguments.variants` of every root field, each with a
  random selection; `random_operations()`: 1 to 3 root fields with random arguments.

Every generated document passes the server's limits (depth 15, aliases 30, cost 5000, measured
by the server's own `DocumentShape` and `CostCounter`) and graphql-core's validation; a draw that
does not is drawn again (`verdicts` counts the draws), except when the arguments themselves are
what validation refuses (`user(by: {})`): then a refused draw is kept (`refused`). The documents
that break the limits on purpose are in `extra.py`.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_enum_type,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    parse,
    print_ast,
    validate,
)
from graphql.execution.values import get_variable_values

from gotong_gql.graphql.limits.cost import CostCounter
from gotong_gql.graphql.limits.shape import DocumentShape
from tests.compiler.arguments import Arguments

MAX_LEVEL = 5
LIMITS = {"depth": 15, "aliases": 30, "cost": 5000}


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    variables: dict[str, Any] = field(default_factory=dict)
    operation_name: str | None = None

    def show(self) -> str:
        variables = json.dumps(self.variables, ensure_ascii=False)
        chosen = f"\noperationName: {self.operation_name}" if self.operation_name else ""
        return f"# {self.name}\n{self.document}\nvariables: {variables}{chosen}"


class Draft:
    """One operation while it is drawn: its variables and fragments."""

    def __init__(self) -> None:
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}
        self.fragments: dict[str, tuple[str, str]] = {}  # name -> (type condition, body)
        self.serial = 0

    def next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"


def is_wrapper(type_: Any) -> bool:
    """A connection or an edge: its level is the level of the list it wraps."""
    return type_.name.endswith("Connection") or type_.name.endswith("Edge")


class Generator:
    def __init__(self, schema: GraphQLSchema, arguments: Arguments, rng: random.Random) -> None:
        self.schema = schema
        self.query = schema.query_type
        self.arguments = arguments
        self.rng = rng
        self.verdicts: Counter[str] = Counter()
        self.refused: list[str] = []  # operations kept although validation refuses them

    # values ------------------------------------------------------------------------------

    def literal(self, value: Any, type_: GraphQLInputType, draft: Draft | None) -> str:
        """`value` written for a position of `type_`; with a draft, sometimes as a variable."""
        if draft is not None and value is not None and self.rng.random() < 0.3:
            return self.variable(value, type_, draft)
        inner = get_nullable_type(type_)
        if value is None:
            return "null"
        if is_list_type(inner):
            items = value if isinstance(value, list) else [value]
            return "[" + ", ".join(self.literal(item, inner.of_type, draft) for item in items) + "]"
        if is_input_object_type(inner):
            fields = [
                f"{k}: {self.literal(v, inner.fields[k].type, draft)}" for k, v in value.items()
            ]
            return "{" + ", ".join(fields) + "}"
        if is_enum_type(inner):
            return str(value)
        return json.dumps(value)

    def variable(self, value: Any, type_: GraphQLInputType, draft: Draft) -> str:
        name = draft.next("v")
        definition = f"${name}: {type_}"
        if self.rng.random() < 0.3:
            definition += f" = {self.literal(value, type_, None)}"
            if self.rng.random() < 0.5:
                draft.definitions.append(definition)
                return f"${name}"  # the default answers for it
        draft.definitions.append(definition)
        draft.variables[name] = value
        return f"${name}"

    def condition(self, draft: Draft) -> str:
        """`@include` or `@skip`, literal or with a Boolean variable."""
        directive = self.rng.choice(["include", "skip"])
        value = self.rng.random() < (0.75 if directive == "include" else 0.25)
        if self.rng.random() < 0.5:
            return f" @{directive}(if: {json.dumps(value)})"
        name = draft.next("c")
        if self.rng.random() < 0.4:
            draft.definitions.append(f"${name}: Boolean! = {json.dumps(value)}")
        else:
            draft.definitions.append(f"${name}: Boolean!")
            draft.variables[name] = value
        return f" @{directive}(if: ${name})"

    def arguments_text(self, field_: GraphQLField, args: dict[str, Any], draft: Draft) -> str:
        written = [
            f"{name}: {self.literal(value, field_.args[name].type, draft)}"
            for name, value in args.items()
        ]
        return f"({', '.join(written)})" if written else ""

    # selections --------------------------------------------------------------------------

    def selection(self, type_: Any, level: int, draft: Draft) -> str:
        if is_abstract_type(type_):
            return self.abstract(type_, level, draft)
        fields = type_.fields
        if type_.name.endswith("Connection"):
            chosen = [
                name for name, p in [("edges", 0.85), ("pageInfo", 0.4)] if self.rng.random() < p
            ]
            chosen += ["totalCount"] if self.rng.random() < 0.35 or not chosen else []
        elif type_.name.endswith("Edge"):
            chosen = ["node"] + (["cursor"] if self.rng.random() < 0.5 else [])
        else:
            names = list(fields)
            if level >= MAX_LEVEL:
                names = [n for n in names if is_leaf_type(get_named_type(fields[n].type))]
            most = max(1, min(len(names), 6 - level))  # fewer fields the deeper
            chosen = self.rng.sample(names, self.rng.randint(1, most))
        self.rng.shuffle(chosen)
        parts = [self.field(type_, name, level, draft) for name in chosen]
        if self.rng.random() < 0.12:
            parts.insert(self.rng.randrange(len(parts) + 1), "__typename")
        roll = self.rng.random()
        if roll < 0.08 and len(parts) > 1:
            cut = self.rng.randrange(1, len(parts))
            on = self.rng.choice([f" on {type_.name}", ""])
            cond = self.condition(draft) if self.rng.random() < 0.3 else ""
            parts[cut:] = [f"...{on}{cond} {{ {' '.join(parts[cut:])} }}"]
        elif roll < 0.16:
            parts.append(self.spread(type_, level, draft))
        return " ".join(parts)

    def field(self, parent: GraphQLObjectType, name: str, level: int, draft: Draft) -> str:
        field_ = parent.fields[name]
        named = get_named_type(field_.type)
        text = name
        if field_.args:
            key = f"{parent.name}.{name}"
            text += self.arguments_text(field_, self.arguments.page(key, root=False), draft)
        if self.rng.random() < 0.1:
            text = f"{draft.next(name[:4])}: {text}"
        if self.rng.random() < 0.07:
            text += self.condition(draft)
        if not is_leaf_type(named):
            below = level if is_wrapper(parent) else level + 1
            text += f" {{ {self.selection(named, below, draft)} }}"
        return text

    def abstract(self, type_: Any, level: int, draft: Draft) -> str:
        parts = [name for name, p in [("id", 0.6), ("__typename", 0.5)] if self.rng.random() < p]
        possible = list(self.schema.get_possible_types(type_))
        for concrete in self.rng.sample(possible, self.rng.randint(1, 3)):
            if self.rng.random() < 0.3:
                parts.append(self.spread(concrete, level, draft))
            else:
                parts.append(
                    f"... on {concrete.name} {{ {self.selection(concrete, level, draft)} }}"
                )
        if self.rng.random() < 0.15:
            parts.append(f"... on {type_.name} {{ id }}")
        return " ".join(parts)

    def spread(self, type_: Any, level: int, draft: Draft) -> str:
        """A named fragment on `type_`: an existing one spread again, or a new one."""
        known = [name for name, (on, _) in draft.fragments.items() if on == type_.name]
        if known and self.rng.random() < 0.4:
            name = self.rng.choice(known)
        else:
            name = draft.next(f"{type_.name}Fields")
            body = self.selection(type_, level, draft)
            draft.fragments[name] = (type_.name, body)
        return f"...{name}" + (self.condition(draft) if self.rng.random() < 0.15 else "")

    def root(self, name: str, args: dict[str, Any], draft: Draft) -> str:
        field_ = self.query.fields[name]
        text = name + self.arguments_text(field_, args, draft)
        named = get_named_type(field_.type)
        if not is_leaf_type(named):
            text += f" {{ {self.selection(named, 1, draft)} }}"
        return text

    # operations --------------------------------------------------------------------------

    def assemble(self, draft: Draft, body: str) -> tuple[str, str | None]:
        name = self.rng.choice([None, None, f"Op{draft.next('')}"])
        header = ""
        if name or draft.definitions or self.rng.random() < 0.5:
            header = "query" + (f" {name}" if name else "")
            header += f"({', '.join(draft.definitions)})" if draft.definitions else ""
        fragments = "".join(
            f"\nfragment {fragment} on {on} {{ {text} }}"
            for fragment, (on, text) in draft.fragments.items()
        )
        document = print_ast(parse(f"{header} {{ {body} }}{fragments}"))
        return document, name

    def check(self, document: str, variables: dict[str, Any]) -> str:
        """ "ok", "invalid" (graphql-core's validation refuses it) or "limit" (a limit of the
        server's refuses it)."""
        ast = parse(document)
        operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
        shape = DocumentShape(ast)
        if shape.depth(operation.selection_set) > LIMITS["depth"]:
            return "limit"
        if shape.aliases(operation.selection_set) > LIMITS["aliases"]:
            return "limit"
        if validate(self.schema, ast):
            return "invalid"
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return "ok"  # a variable that does not coerce: both paths must refuse it alike
        cost = CostCounter(self.schema, shape, coerced).count(operation.selection_set, self.query)
        return "ok" if cost <= LIMITS["cost"] else "limit"

    def operation(self, label: str, roots: list[tuple[str, dict[str, Any]]]) -> Operation:
        """An operation selecting `roots` (field, arguments) with random selections."""
        refused = None  # a draw the validation refuses: kept if no valid one comes
        for _ in range(40):
            draft = Draft()
            parts = [self.root(name, args, draft) for name, args in roots]
            if self.rng.random() < 0.15:
                parts[0] = f"{draft.next('r')}: {parts[0]}"
            if self.rng.random() < 0.1:
                parts.append("__typename")
            if self.rng.random() < 0.06:
                draft.fragments[draft.next("QueryFields")] = ("Query", " ".join(parts))
                parts = [f"...{list(draft.fragments)[-1]}"]
            document, name = self.assemble(draft, " ".join(parts))
            verdict = self.check(document, draft.variables)
            self.verdicts[verdict] += 1
            if verdict == "ok":
                return Operation(label, document, draft.variables, name)
            if verdict == "invalid":
                refused = Operation(label, document, draft.variables, name)
        if refused is None:
            raise AssertionError(f"{label}: every draw breaks a limit")
        self.refused.append(refused.name)
        return refused  # its arguments are what validation refuses (e.g. `by: {}`)

    def systematic(self) -> list[Operation]:
        """Every argument set of every root field, each with a random selection."""
        operations = []
        for name in self.query.fields:
            for index, args in enumerate(self.arguments.variants(name)):
                label = f"{name} #{index} {json.dumps(args)[:120]}"
                operations.append(self.operation(label, [(name, args)]))
        return operations

    def random_operations(self, count: int) -> list[Operation]:
        names = list(self.query.fields)
        operations = []
        for index in range(count):
            chosen = self.rng.sample(names, self.rng.choice([1, 1, 1, 2, 2, 3]))
            roots = [(name, self.arguments.random(name)) for name in chosen]
            operations.append(self.operation(f"random #{index} {' '.join(chosen)}", roots))
        return operations
