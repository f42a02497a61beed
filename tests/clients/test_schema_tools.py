"""The schema's own checks, run on the committed schema.graphql (which tests/test_schema.py keeps
equal to the code's): graphql-schema-linter with tests/clients/.graphql-schema-linterrc reports
nothing, and every breaking change since tests/clients/schema-baseline.graphql, as
@graphql-inspector/core classifies it, is named in the README's "Schema changes" section.

Neither needs git history (CI's clone may be shallow): the baseline is a committed file. Recording
a change and moving the baseline are described in the README's "Schema changes" section."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import CLIENTS, NODE, run_node

ROOT = CLIENTS.parents[1]
SCHEMA = ROOT / "schema.graphql"
BASELINE = CLIENTS / "schema-baseline.graphql"
LINTER = "node_modules/graphql-schema-linter/lib/cli.js"

pytestmark = pytest.mark.slow


def lint(sdl: str) -> tuple[int, list[dict]]:
    """The linter's findings for an SDL text, with the committed configuration."""
    assert NODE, "node is needed for tests/clients (Node.js 20 or newer)"
    result = subprocess.run(
        [NODE, LINTER, "--stdin", "--format", "json"],
        cwd=CLIENTS,
        input=sdl,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)["errors"]


def test_the_schema_passes_the_linter():
    code, findings = lint(SCHEMA.read_text())
    assert findings == [], "\n".join(f"{f['message']} ({f['rule']})" for f in findings)
    assert code == 0


UNDESCRIBED = '''
type Orphan {
  items(first: Int): TaskConnection
  """lower case."""
  snake_case: Int
  loose: LooseConnection
}
enum Shade { light }
input Filter { Value: Int }
type LooseConnection { count: Int }
'''


def test_the_linter_configuration_covers_what_it_promises():
    code, findings = lint(SCHEMA.read_text() + UNDESCRIBED)
    assert code == 1
    assert {f["rule"] for f in findings} == {
        "types-have-descriptions",
        "fields-have-descriptions",
        "arguments-have-descriptions",
        "descriptions-are-capitalized",
        "relay-connection-types-spec",
        "enum-values-have-descriptions",
        "input-object-values-have-descriptions",
        "defined-types-are-used",
        "relay-connection-arguments-spec",
        "fields-are-camel-cased",
        "enum-values-all-caps",
        "input-object-values-are-camel-cased",
        "input-object-types-end-with-input",
    }


def breaking_changes(before: Path, after: Path) -> list[dict]:
    result = run_node("schema-diff.mjs", str(before), str(after))
    assert result.returncode == 0, result.stderr
    return [change for change in json.loads(result.stdout) if change["criticality"] == "BREAKING"]


def recorded_coordinates() -> set[str]:
    """The code spans of the README's "Schema changes" section: each names what it records."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Schema changes\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no '## Schema changes' section"
    return {" ".join(span.split()) for span in re.findall(r"`([^`]+)`", section[1])}


def unrecorded(before: Path, after: Path) -> list[str]:
    recorded = recorded_coordinates()
    return [
        f"`{change['path']}`: {change['message']}"
        for change in breaking_changes(before, after)
        if change["path"] not in recorded
    ]


def test_every_breaking_change_since_the_baseline_is_recorded():
    missing = unrecorded(BASELINE, SCHEMA)
    assert missing == [], (
        "breaking schema changes not named in the README's 'Schema changes' section (name each "
        "coordinate in backticks, say what a client does about it):\n" + "\n".join(missing)
    )


def test_an_unrecorded_breaking_change_is_caught(tmp_path):
    changed = tmp_path / "schema.graphql"
    sdl = SCHEMA.read_text()
    assert sdl.count("\n  hasNextPage: Boolean!\n") == 1
    changed.write_text(sdl.replace("\n  hasNextPage: Boolean!\n", "\n  hasNextPage: Boolean\n"))
    assert unrecorded(SCHEMA, changed) == [
        "`PageInfo.hasNextPage`: Field 'PageInfo.hasNextPage' changed type from 'Boolean!' to "
        "'Boolean'"
    ]
