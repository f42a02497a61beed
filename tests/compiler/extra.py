"""The corpus's operations that are not drawn at random: README.md's query operations, and
documents that break the limits or the rules on purpose (both paths must refuse them alike)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    parse,
    print_ast,
    type_from_ast,
    validate,
)

from tests.compiler.corpus import Operation
from tests.compiler.seed import Seed

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]*\{[^`\n]*\})`")
# A value per type for the variables of README operations (none takes any today).
SAMPLE = {"Int": 5, "Float": 1.5, "String": "river", "Boolean": True}


def readme_operations(
    schema: GraphQLSchema, seed: Seed, text: str | None = None
) -> list[Operation]:
    """Every query operation README.md shows: in ```graphql blocks (one document may hold several
    operations), as the `body` of a JSON manifest, or as an inline code span that is a whole
    operation; valid against the schema, with its block's fragments, variables from the seed."""
    text = README.read_text(encoding="utf-8") if text is None else text
    sources: list[str] = []
    for language, block in FENCE.findall(text):
        if language in ("graphql", "gql"):
            sources.append(block)
        elif language == "json":
            sources.extend(re.findall(r'"body":\s*("(?:[^"\\]|\\.)*")', block))
            sources[:] = [json.loads(s) if s.startswith('"') else s for s in sources]
    sources.extend(
        span for span in INLINE.findall(text) if span.lstrip().startswith(("{", "query"))
    )
    operations: list[Operation] = []
    seen: set[str] = set()
    for source in sources:
        try:
            document = parse(source)
        except GraphQLError:
            continue  # a fragment of a document in prose, not an operation
        fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if definition.operation != OperationType.QUERY:
                continue
            one = DocumentNode(definitions=(definition, *fragments))
            if validate(schema, one):
                continue
            printed = print_ast(one)
            if printed in seen:
                continue
            seen.add(printed)
            variables = {
                variable.variable.name.value: _sample(schema, variable.type, seed)
                for variable in definition.variable_definitions or ()
                if variable.default_value is None
            }
            name = definition.name.value if definition.name else None
            label = f"README #{len(operations)} {' '.join(printed.split())[:80]}"
            operations.append(Operation(label, printed, variables, name))
    return operations


def _sample(schema: GraphQLSchema, type_node: Any, seed: Seed) -> Any:
    named = get_named_type(type_from_ast(schema, type_node))
    if named.name == "ID":
        return seed.tasks["completed"]
    return SAMPLE.get(named.name)


def special_operations(seed: Seed) -> list[Operation]:
    """Limits, validation, parsing, operation choice, introspection, NUL: what is refused
    before execution, and the rules of documents the generator does not draw."""

    def nest(levels: int) -> str:
        """`me` and `levels` times four more fields (contributions, edges, node, user)."""
        inner = "id"
        for _ in range(levels):
            inner = f"contributions(first: 1) {{ edges {{ node {{ user {{ {inner} }} }} }} }}"
        return f"{{ me {{ {inner} }} }}"

    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(31))
    directives = " ".join(["username @include(if: true)"] * 51)
    tokens = " ".join(["id"] * 5001)
    task, budi = seed.tasks["completed"], seed.users["budi"]
    return [
        Operation("limit: depth 18", nest(4)),
        Operation("limit: depth 14", nest(3)),
        Operation("limit: 31 aliases", f"{{ {aliases} }}"),
        Operation("limit: 51 directives", f"{{ me {{ {directives} }} }}"),
        Operation("limit: over 5000 tokens", f"{{ me {{ {tokens} }} }}"),
        Operation(
            "limit: cost 10100",
            "{ tasks(first: 100) { edges { node { history(first: 100) { totalCount } } } } }",
        ),
        Operation(
            "limit: cost from a variable",
            "query($n: Int = 3) { users(first: $n) { edges { node {"
            " contributions(first: $n) { edges { node { verifications(first: $n) {"
            " totalCount } } } } } } } }",
            {"n": 100},
        ),
        Operation(
            "limit: cost of nodes(ids)",
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Task { history(first: 100) {"
            " totalCount } } } }",
            {"ids": [task] * 60},
        ),
        Operation(
            "invalid: UserError cannot be spread on Node",
            f'{{ node(id: "{task}") {{ ... on UserError {{ message }} }} }}',
        ),
        Operation("invalid: unknown field", "{ me { id nope } }"),
        Operation("invalid: missing required argument", "{ task { id } }"),
        Operation(
            "invalid: conflicting fields",
            "{ tasks(first: 1) { totalCount } tasks(first: 2) { totalCount } }",
        ),
        Operation("invalid: unused variable", "query($x: Int) { me { id } }", {"x": 1}),
        Operation("invalid: undefined fragment", "{ me { ...Missing } }"),
        Operation(
            "invalid: fragment cycle",
            "{ me { ...A } } fragment A on User { id ...B } fragment B on User { ...A }",
        ),
        Operation(
            "invalid: variable of the wrong type",
            "query($n: Int) { tasks(first: $n) { totalCount } }",
            {"n": "three"},
        ),
        Operation("invalid: missing required variable", "query($id: ID!) { task(id: $id) { id } }"),
        Operation(
            "invalid: enum value unknown",
            "{ tasks(first: 1, filter: {status: [DONE]}) { totalCount } }",
        ),
        Operation("parse error", "{ tasks(first: 2) { edges { node { id } } }"),
        Operation("parse error: empty document", ""),
        Operation(
            "two operations without operationName",
            "query A { me { id } } query B { me { username } }",
        ),
        Operation(
            "two operations, operationName B",
            "query A { me { id } } query B { me { username } }",
            {},
            "B",
        ),
        Operation("operationName that is not in the document", "query A { me { id } }", {}, "C"),
        Operation(
            "fragment on Query, spread twice",
            "{ ...Q r: me { id } ...Q } fragment Q on Query { me { username }"
            " oidcProviders { name displayName } }",
        ),
        Operation(
            "@skip and @include together",
            "{ me { id @skip(if: false) @include(if: true) username @skip(if: true)"
            " @include(if: true) email @skip(if: false) @include(if: false) } }",
        ),
        Operation(
            "a NUL character in an argument",
            '{ users(first: 2, filter: {search: "a\\u0000b"}) { totalCount } }',
        ),
        Operation(
            "a NUL character in a variable",
            "query($s: String) { skills(first: 2, search: $s) { totalCount } }",
            {"s": "x\u0000"},
        ),
        Operation("only __typename", "{ __typename }"),
        Operation(
            "introspection: __type",
            '{ __type(name: "Task") { name kind fields { name type { name kind } } } }',
        ),
        Operation(
            "introspection: __schema with data",
            "{ __schema { queryType { name } } me { username } }",
        ),
        Operation(
            "__typename of every Node",
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
            {
                "ids": [
                    seed.ids(t)[0]
                    for t in (
                        "User",
                        "Task",
                        "Contribution",
                        "Evidence",
                        "Verification",
                        "Vouch",
                        "Skill",
                        "CreditAccount",
                    )
                ]
            },
        ),
        Operation(
            "same field twice, merged",
            f'{{ user(by: {{id: "{budi}"}}) {{ username }} user(by: {{id: "{budi}"}})'
            " { email username } }",
        ),
        Operation("integer out of range", "{ tasks(first: 2147483648) { totalCount } }"),
        Operation("float for an Int", "{ tasks(first: 2.5) { totalCount } }"),
    ]
