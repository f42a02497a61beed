"""graphql-http's GraphQL-over-HTTP conformance audit (its `serverAudits`), every audit `ok`:
the MUSTs, and the SHOULDs and MAYs we follow (application/json for `*/*` and for a missing
Accept among them)."""

from __future__ import annotations

import re

import pytest

from tests.clients.conftest import run_node

pytestmark = pytest.mark.slow


def test_every_graphql_over_http_audit_is_ok(server):
    result = run_node("graphql-http-audit.mjs", f"{server}/graphql")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    summary = re.search(r"^(\d+) of (\d+) audits ok$", result.stdout, re.MULTILINE)
    assert summary, result.stdout
    assert summary[1] == summary[2]
    assert int(summary[2]) >= 61  # graphql-http 1.23.1 has 61
