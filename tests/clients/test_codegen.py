"""Relay and GraphQL Code Generator compile the operations corpus (tests/clients/operations/: what
a web app and a mobile app send) against schema.graphql, and the TypeScript they generate, with
the corpus and tests/clients/typecheck/ (code written against the generated types), passes
`tsc --strict`. One Relay-compiled operation then runs against a real server."""

from __future__ import annotations

import json
import re
import shutil

import httpx
import pytest

from tests.clients.conftest import CLIENTS, graphql, person, run_node

pytestmark = pytest.mark.slow

BUILD = CLIENTS / "build"
OPERATIONS = sorted((CLIENTS / "operations").rglob("*.ts"))


def operation_names() -> list[str]:
    found = [
        re.findall(r"^\s*(?:query|mutation|subscription|fragment) (\w+)", path.read_text(), re.M)
        for path in OPERATIONS
    ]
    return sorted(name for names in found for name in names)


@pytest.fixture(scope="module")
def compiled() -> None:
    shutil.rmtree(BUILD, ignore_errors=True)
    (BUILD / "relay").mkdir(parents=True)
    relay = run_node("node_modules/relay-compiler/cli.js")
    assert relay.returncode == 0, relay.stdout + relay.stderr
    codegen = run_node("node_modules/@graphql-codegen/cli/esm/bin.js", "--config", "codegen.yml")
    assert codegen.returncode == 0, codegen.stdout + codegen.stderr


def test_relay_compiles_every_operation(compiled):
    artifacts = sorted(path.name.removesuffix(".graphql.ts") for path in BUILD.glob("relay/*.ts"))
    assert artifacts == operation_names()
    assert len(artifacts) >= 20


def test_codegen_types_every_operation(compiled):
    generated = (BUILD / "codegen" / "graphql.ts").read_text()
    for name in operation_names():
        if "_" in name:  # a fragment: codegen's naming convention capitalises after the "_"
            module, fragment = name.split("_")
            typename = f"{module}_{fragment[0].upper()}{fragment[1:]}Fragment"
        else:  # the client preset appends the operation's kind: WebTaskListQueryQuery
            kind = next(s for s in ("Query", "Mutation", "Subscription") if name.endswith(s))
            typename = f"{name}{kind}"
        assert re.search(rf"^export type {typename} =\s", generated, re.M), typename


def test_the_generated_typescript_passes_tsc_strict(compiled):
    result = run_node("node_modules/typescript/bin/tsc", "-p", "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads((CLIENTS / "tsconfig.json").read_text())
    assert config["compilerOptions"]["strict"] is True


def test_a_relay_compiled_query_runs(compiled, served):
    siti = person(served, "siti", "organizer")
    created = graphql(
        served,
        'mutation { taskCreate(input: {title: "Fix the well", estimatedHours: 2}) '
        "{ task { id } } }",
        {},
        siti,
    )["taskCreate"]["task"]
    artifact = (BUILD / "relay" / "WebTaskListQuery.graphql.ts").read_text()
    text = json.loads(re.search(r'"text": ("(?:[^"\\]|\\.)*")', artifact)[1])
    answer = httpx.post(
        f"{served.base}/graphql",
        json={"query": text, "variables": {"first": 20, "status": ["OPEN"]}},
        headers={"Authorization": f"Bearer {siti.token}"},
        timeout=30,
    ).json()
    assert "errors" not in answer, answer
    tasks = answer["data"]["tasks"]
    assert tasks["totalCount"] == 1
    (edge,) = tasks["edges"]
    assert edge["node"]["id"] == created["id"]
    assert edge["node"]["title"] == "Fix the well"
    assert edge["node"]["estimatedHours"] == 2.0
    assert edge["node"]["creator"]["username"] == "siti"
    assert edge["node"]["viewerCanClaim"] is True
    assert tasks["pageInfo"]["hasNextPage"] is False
