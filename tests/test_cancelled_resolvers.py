"""A field error cancels the resolvers still running beside it (graphql-core 3.3 cancels the
siblings of a field whose error nulls their parent). A resolver cancelled in the middle of a
statement must not break the request's session for the resolvers that run after it, nor the
end of the request: the answer is the field error, never INTERNAL or a 500."""

from __future__ import annotations

from tests.helpers import create_task, create_user

# history(first: 0) is BAD_USER_INPUT on every task; the other fields read the database at the
# same time, and `users` (a root field) reads it after the cancellation.
QUERY = """{
  tasks(first: 4) { edges { node { history(first: 0) { totalCount }
    assignments { totalCount } creator { username } skills { name } viewerCanUpdate } } }
  users(first: 3) { totalCount edges { node { username contributions { totalCount } } } }
}"""


async def test_a_field_error_beside_running_resolvers_is_answered_as_such(api):
    siti = await create_user(api, "siti", ["organizer", "admin"])
    for index in range(4):
        await create_task(api, siti, title=f"Task {index}", skills=["carpentry", "cleanup"])
    for _ in range(25):
        response = await api.post(QUERY, token=siti.token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] is None
        codes = {error["extensions"]["code"] for error in body["errors"]}
        assert codes == {"BAD_USER_INPUT"}, body["errors"]
