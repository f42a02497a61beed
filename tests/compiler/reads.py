"""What the mapping tests share: one query through both paths, and the fallback counter."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.compiler.test_statements import both_paths, compiled_count


def fallbacks(reason: str) -> float:
    labels = {"path": "executor", "reason": reason}
    return REGISTRY.get_sample_value("gotong_graphql_read_path_total", labels) or 0.0


async def same(api, query, variables, who):
    compiled, executed = await both_paths(api, query, variables, who.token)
    assert compiled == executed, who.username
    return compiled["data"]


async def refused(api, query, variables, who, code="FORBIDDEN", reason="forbidden"):
    """The executor answers with its error (the compiled path steps aside)."""
    before, counted = compiled_count(), fallbacks(reason)
    body = (await api.post(query, variables, who.token)).json()
    assert compiled_count() == before
    assert fallbacks(reason) == counted + 1
    assert body["errors"][0]["extensions"]["code"] == code, body
    return body
