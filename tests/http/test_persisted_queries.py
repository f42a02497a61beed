"""Persisted queries (graphql/persisted.py): Apollo's APQ protocol over POST and GET, kept in
this process or in Redis; a persisted-only mode that runs the documents of a manifest only,
over HTTP and WebSocket."""

from __future__ import annotations

import hashlib
import json

import pytest
import redis.asyncio as redis

from gotong_gql.app import create_app
from gotong_gql.cache import InProcessCache
from gotong_gql.settings import Settings
from tests.conftest import REDIS_TEST_SERVER
from tests.helpers import LOGIN, REGISTER, TASK_CREATE, create_task, create_user, register
from tests.http.conftest import GRAPHQL_RESPONSE, JSON, error_code, websocket

REDIS_URL = f"{REDIS_TEST_SERVER}/14"
ME = "query Me { me { username } }"
REVOKE = 'mutation { tokenRevoke(input: {refreshToken: "nope"}) { revoked } }'
COSTLY = "{ tasks(first: 10000) { edges { node { id } } } }"
TASK_UPDATED = "subscription($id: ID!) { taskUpdated(taskId: $id) { type task { status } } }"
RENAME = """mutation($id: ID!) { taskUpdate(input: {taskId: $id, title: "Renamed"})
  { errors { code } } }"""
# An app's manifest: its queries, the subscription, and the mutations it signs up and in with.
LISTED = (ME, COSTLY, TASK_UPDATED, RENAME, REGISTER, LOGIN, TASK_CREATE)


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, version: int = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": sha(document)}}


async def post(client, body: dict, token: str | None = None, **headers: str):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json=body, headers=headers)


async def get(client, document: str, token: str, **params: str):
    return await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(document)), **params},
        headers={"Authorization": f"Bearer {token}"},
    )


def assert_not_found(response, media_type: str = GRAPHQL_RESPONSE) -> None:
    # 200 in both media types (Apollo Client 3 gives up on persisted queries after a 400).
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }


@pytest.fixture(params=["in-process", "redis"])
async def apq(request, api, make_api):
    """The app with APQ kept in this process (the default `api`) or in Redis."""
    if request.param == "in-process":
        return api
    connection = redis.Redis.from_url(REDIS_URL)
    await connection.flushdb()
    await connection.aclose()
    return await make_api(redis_url=REDIS_URL)


async def test_apq_registers_a_document_that_ran_then_runs_it_by_hash(apq):
    account = await register(apq, "ayu")
    with apq.statements as counter:
        unknown = await post(apq.client, {"extensions": persisted(ME)}, account.token)
    assert_not_found(unknown)
    assert counter.count == 0

    full = await post(apq.client, {"query": ME, "extensions": persisted(ME)}, account.token)
    assert full.status_code == 200
    assert full.json()["data"] == {"me": {"username": "ayu"}}

    by_hash = await post(apq.client, {"extensions": persisted(ME)}, account.token)
    assert by_hash.status_code == 200
    assert by_hash.json()["data"] == {"me": {"username": "ayu"}}
    assert by_hash.json()["extensions"]["cost"]["points"] == 1  # charged like any query
    # Two queries ran, at a point each; the PERSISTED_QUERY_NOT_FOUND answer cost nothing.
    assert by_hash.headers["x-ratelimit-remaining"] == "298"

    # GET with the hash: a short URL that a CDN or browser cache can key on.
    over_get = await get(apq.client, ME, account.token, operationName="Me")
    assert over_get.status_code == 200
    assert over_get.json()["data"] == {"me": {"username": "ayu"}}
    if apq.services.settings.redis_url:
        connection = redis.Redis.from_url(REDIS_URL)
        try:
            assert await connection.get(f"apq:sha256:{sha(ME)}") == json.dumps(ME).encode()
            assert 3500 < await connection.ttl(f"apq:sha256:{sha(ME)}") <= 3600
        finally:
            await connection.aclose()


async def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_runs(apq):
    account = await register(apq, "ayu")
    before = await apq.table_counts()
    with apq.statements as counter:
        response = await post(
            apq.client, {"query": REVOKE, "extensions": persisted(ME)}, account.token
        )
    assert response.status_code == 400
    assert error_code(response) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert counter.count == 0
    assert await apq.table_counts() == before
    assert_not_found(await post(apq.client, {"extensions": persisted(ME)}, account.token))
    assert_not_found(await post(apq.client, {"extensions": persisted(REVOKE)}, account.token))


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": sha(ME)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
)
async def test_malformed_persisted_query_extensions_are_400(api, extensions):
    response = await post(api.client, {"extensions": extensions})
    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"


async def test_only_documents_that_ran_are_registered(api):
    account = await register(api, "ayu")
    invalid = "{ nosuchfield }"
    refused = await post(api.client, {"query": invalid, "extensions": persisted(invalid)})
    assert refused.status_code == 400
    assert error_code(refused) == "GRAPHQL_VALIDATION_FAILED"
    assert_not_found(await post(api.client, {"extensions": persisted(invalid)}))
    large = "{ me { username } }" + " " * 40_000  # runs, but is not kept
    ran = await post(api.client, {"query": large, "extensions": persisted(large)}, account.token)
    assert ran.json()["data"] == {"me": {"username": "ayu"}}
    assert_not_found(await post(api.client, {"extensions": persisted(large)}, account.token))


async def test_a_persisted_mutation_runs_over_post_and_never_over_get(api):
    account = await register(api, "ayu")
    first = await post(api.client, {"query": REVOKE, "extensions": persisted(REVOKE)})
    assert first.json()["data"] == {"tokenRevoke": {"revoked": False}}
    again = await post(api.client, {"extensions": persisted(REVOKE)})
    assert again.json()["data"] == {"tokenRevoke": {"revoked": False}}
    over_get = await get(api.client, REVOKE, account.token)
    assert over_get.status_code == 405
    assert over_get.headers["allow"] == "POST"


async def test_the_not_found_answer_is_200_for_legacy_clients_too(api):
    response = await post(api.client, {"extensions": persisted(ME)}, Accept="application/json")
    assert_not_found(response, JSON)


async def test_persisted_queries_off(make_api):
    api = await make_api(persisted_queries="off")
    response = await post(api.client, {"query": ME, "extensions": persisted(ME)})
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotSupported",
                "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
            }
        ]
    }
    assert (await post(api.client, {"query": ME})).json()["data"] == {"me": None}


def apollo_manifest(*documents: str) -> dict:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha(document), "name": f"Op{index}", "type": "query", "body": document}
            for index, document in enumerate(documents)
        ],
    }


@pytest.fixture(params=["apollo", "relay"])
async def only_api(request, make_api, tmp_path):
    """Persisted-only, with a manifest in Apollo's format or Relay's (id -> document)."""
    manifest = (
        apollo_manifest(*LISTED)
        if request.param == "apollo"
        else {sha(document): document for document in LISTED}
    )
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return await make_api(persisted_queries="only", persisted_queries_manifest=path)


async def test_persisted_only_runs_the_manifest_by_hash_or_text(only_api):
    account = await register(only_api, "ayu")  # REGISTER and LOGIN are listed
    by_hash = await post(only_api.client, {"extensions": persisted(ME)}, account.token)
    assert by_hash.json()["data"] == {"me": {"username": "ayu"}}
    by_text = await post(only_api.client, {"query": ME}, account.token)
    assert by_text.json()["data"] == {"me": {"username": "ayu"}}
    over_get = await get(only_api.client, ME, account.token)
    assert over_get.json()["data"] == {"me": {"username": "ayu"}}


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ me { id } }"},
        {"query": "{ me { id } }", "extensions": persisted("{ me { id } }")},
    ],
)
async def test_persisted_only_refuses_any_other_document_unparsed(only_api, body):
    before = await only_api.table_counts()
    with only_api.statements as counter:
        response = await post(only_api.client, body)
    assert response.status_code == 403
    assert error_code(response) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert counter.count == 0
    assert await only_api.table_counts() == before
    assert_not_found(await post(only_api.client, {"extensions": persisted("{ me { id } }")}))


async def test_persisted_documents_keep_their_limits(only_api):
    with only_api.statements as counter:
        response = await post(only_api.client, {"extensions": persisted(COSTLY)})
    assert response.status_code == 400
    assert error_code(response) == "QUERY_TOO_COMPLEX"
    assert counter.count == 0


async def test_persisted_only_holds_websocket_subscriptions_to_the_manifest(only_api):
    organizer = await create_user(only_api, "siti", ["organizer"])
    task = await create_task(only_api, organizer, title="Listed")
    async with websocket(only_api.app) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {organizer.token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"
        other = "subscription($id: ID!) { taskUpdated(taskId: $id) { type } }"
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": other, "variables": {}}}
        )
        refused = await ws.receive_json()
        assert refused["type"] == "error" and refused["id"] == "1"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        await ws.send_json(
            {
                "id": "2",
                "type": "subscribe",
                "payload": {"variables": {"id": task["id"]}, "extensions": persisted(TASK_UPDATED)},
            }
        )
        await only_api.gql(RENAME, {"id": task["id"]}, organizer.token)
        event = await ws.receive_json()
        assert event == {
            "id": "2",
            "type": "next",
            "payload": {"data": {"taskUpdated": {"type": "UPDATED", "task": {"status": "OPEN"}}}},
        }


def test_a_manifest_id_that_is_not_the_sha256_of_its_document_stops_the_app(settings, tmp_path):
    manifest = apollo_manifest(ME)
    manifest["operations"][0]["id"] = sha("something else")
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="is not the SHA-256 of its document"):
        create_app(settings.model_copy(update={"persisted_queries_manifest": path}))


def test_persisted_only_needs_a_manifest():
    with pytest.raises(ValueError, match="PERSISTED_QUERIES=only needs PERSISTED_QUERIES_MANIFEST"):
        Settings(persisted_queries="only")


async def test_the_in_process_cache_keeps_the_most_recently_used():
    cache = InProcessCache(max_entries=2)
    await cache.set("a", 1, 60)
    await cache.set("b", 2, 60)
    assert await cache.get("a") == 1  # now b is the least recently used
    await cache.set("c", 3, 60)
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (1, None, 3)
