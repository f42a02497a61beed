"""Pages of the task list through the compiled path and the executor: every order (a nullable key
and the computed distance included), both directions, cursors from the page before, pageInfo and
totalCount, fragments, aliases and directives. The answers must be equal."""

from __future__ import annotations

import pytest

from tests.compiler.test_statements import both_paths
from tests.helpers import create_task, create_user

PAGE = """query Page($first: Int, $last: Int, $after: String, $before: String,
    $order: TaskOrderInput, $filter: TaskFilterInput, $withCount: Boolean!) {
  list: tasks(first: $first, last: $last, after: $after, before: $before, orderBy: $order,
      filter: $filter) {
    total: totalCount @include(if: $withCount)
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
    edges { cursor node { ...Row } }
  }
}
fragment Row on Task { id title estimatedHours latitude ... on Node { __typename }
  ... @skip(if: $withCount) { viewerCanClaim viewerCanUpdate status } }"""

ORDERS = [
    {"field": "CREATED_AT", "direction": "DESC"},
    {"field": "TITLE", "direction": "ASC"},
    {"field": "ESTIMATED_HOURS", "direction": "DESC"},
    {"field": "ESTIMATED_HOURS", "direction": "ASC"},
    {"field": "DISTANCE", "direction": "ASC"},
]
NEAR = {"near": {"latitude": -6.2, "longitude": 106.8, "radiusKm": 500}}


@pytest.fixture
async def seeded(api):
    organizer = await create_user(api, "org", ["organizer"])
    viewer = await create_user(api, "viewer", [])
    for index in range(9):
        fields = {"title": f"{'BCA'[index % 3]} task {index}"}
        if index % 3:
            fields["estimatedHours"] = float(index % 4 or 1)  # ties, and NULLs for index % 3 == 0
        if index % 2:
            fields.update(latitude=-6.2 + index / 100, longitude=106.8)
        await create_task(api, organizer, **fields)
    return organizer, viewer


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "_".join(order.values()))
async def test_every_page_forwards_and_backwards(api, seeded, order):
    organizer, viewer = seeded
    filter_ = NEAR if order["field"] == "DISTANCE" else None
    for token in (organizer.token, viewer.token):
        for direction in ("first", "last"):
            variables = {direction: 2, "order": order, "filter": filter_, "withCount": True}
            seen = 0
            while True:
                compiled, executed = await both_paths(api, PAGE, variables, token)
                assert compiled == executed, variables
                page = compiled["data"]["list"]
                seen += len(page["edges"])
                info = page["pageInfo"]
                more = info["hasNextPage"] if direction == "first" else info["hasPreviousPage"]
                if not more:
                    break
                cursor = info["endCursor"] if direction == "first" else info["startCursor"]
                variables = {**variables, ("after" if direction == "first" else "before"): cursor}
            assert seen == page["total"]
    middle = compiled["data"]["list"]["edges"]
    if middle:
        both = {"first": 3, "after": middle[0]["cursor"], "before": middle[-1]["cursor"]}
        variables = {**both, "order": order, "filter": filter_, "withCount": False}
        compiled, executed = await both_paths(api, PAGE, variables, organizer.token)
        assert compiled == executed
