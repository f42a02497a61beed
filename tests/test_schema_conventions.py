"""The conventions of SPEC 7 that a client's code generator relies on, through HTTP: one error
interface, enums both ways, one DateTime, one vocabulary for places, `user(by:)`, and `me`."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

from gotong_gql.security import TokenCodec
from tests.evidence.helpers import contributor_with_contribution
from tests.helpers import create_task, create_user, register

SUBMIT = """mutation($input: EvidenceSubmitInput!) { evidenceSubmit(input: $input) {
  evidence { id }
  errors { __typename ...on UserError { message path } ...on EvidenceError { code } } } }"""
ERROR_TYPES = """{ __schema { types { name kind interfaces { name }
  fields { name type { kind ofType { kind ofType { kind ofType { name } } } } } } } }"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def test_one_fragment_reads_every_payload_error_and_its_path(api):
    account, contribution_id = await contributor_with_contribution(api)
    witnesses = [
        {"witnessName": "Pak Joko", "relationship": "PEER"},
        {"witnessName": "Bu Sri", "relationship": "SUPERVISOR"},
        {"witnessName": "  ", "relationship": "OTHER"},
    ]
    variables = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "WITNESS_ATTESTATION",
            "timestamp": _now(),
            "witnesses": witnesses,
        }
    }
    before = await api.table_counts()
    payload = (await api.gql(SUBMIT, variables, account.token))["evidenceSubmit"]
    assert payload == {
        "evidence": None,
        "errors": [
            {
                "__typename": "EvidenceError",
                "message": "witnessName must be 1 to 255 characters",
                "path": ["input", "witnesses", "2", "witnessName"],
                "code": "INVALID_PAYLOAD",
            }
        ],
    }
    assert await api.table_counts() == before

    joko = await register(api, "joko")
    forbidden = (await api.gql(SUBMIT, variables, joko.token))["evidenceSubmit"]
    assert forbidden["errors"] == [
        {
            "__typename": "EvidenceError",
            "message": "only the contributor adds evidence to a contribution",
            "path": None,
            "code": "FORBIDDEN",
        }
    ]


async def test_every_payload_error_implements_user_error(api):
    account, _ = await contributor_with_contribution(api)
    types = (await api.gql(ERROR_TYPES, token=account.token))["__schema"]["types"]
    by_name = {item["name"]: item for item in types}
    payload_errors = set()
    for item in types:
        if item["kind"] != "OBJECT" or not item["name"].endswith("Payload"):
            continue
        (errors,) = [field for field in item["fields"] if field["name"] == "errors"]
        # [X!]! : NON_NULL > LIST > NON_NULL > X
        payload_errors.add(errors["type"]["ofType"]["ofType"]["ofType"]["name"])
    assert payload_errors == {
        "AccountError",
        "ContributionError",
        "CreditError",
        "EvidenceError",
        "TaskError",
        "VouchError",
        "WebhookError",
    }
    for name in payload_errors:
        assert by_name[name]["interfaces"] == [{"name": "UserError"}], name
        fields = {field["name"] for field in by_name[name]["fields"]}
        assert fields == {"message", "path", "code"}, name
        (code,) = [field for field in by_name[name]["fields"] if field["name"] == "code"]
        assert code["type"]["kind"] == "NON_NULL"
        assert code["type"]["ofType"]["kind"] == "ENUM"


VOUCH = """mutation($input: VouchCreateInput!) { vouchCreate(input: $input) {
  vouch { weightHint } errors { path code } } }"""
VOUCHES = """query($u: ID!) { vouches(first: 5, filter: {voucheeId: $u}) {
  edges { node { weightHint } } } }"""
WITNESSES = """query($id: ID!) { evidence(id: $id) { witnesses { witnessName relationship } } }"""


async def test_an_enum_read_is_an_enum_that_can_be_sent_back(api):
    ayu, budi, dewi = [await register(api, name) for name in ("ayu", "budi", "dewi")]
    strong = {"voucheeId": budi.id, "weightHint": "STRONG"}
    first = await api.gql(VOUCH, {"input": strong}, ayu.token)
    assert first["vouchCreate"] == {"vouch": {"weightHint": "STRONG"}, "errors": []}
    read = await api.gql(VOUCHES, {"u": budi.id}, ayu.token)
    (edge,) = read["vouches"]["edges"]
    again = {"voucheeId": dewi.id, "weightHint": edge["node"]["weightHint"]}
    second = await api.gql(VOUCH, {"input": again}, ayu.token)
    assert second["vouchCreate"] == {"vouch": {"weightHint": "STRONG"}, "errors": []}

    # A value outside the enum is refused by the schema, naming the enum's values, never ours.
    before = await api.table_counts()
    lower = {"voucheeId": dewi.id, "weightHint": "strong"}
    response = await api.post(VOUCH, {"input": lower}, ayu.token)
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "'STRONG'" in error["message"]
    assert await api.table_counts() == before


async def test_witness_relationships_are_one_enum_both_ways(api):
    account, contribution_id = await contributor_with_contribution(api)
    witnesses = [
        {"witnessName": "Pak Joko", "relationship": "SUPERVISOR"},
        {"witnessName": "Bu Sri", "relationship": "BENEFICIARY"},
    ]
    variables = {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "WITNESS_ATTESTATION",
            "timestamp": _now(),
            "witnesses": witnesses,
        }
    }
    submitted = (await api.gql(SUBMIT, variables, account.token))["evidenceSubmit"]
    assert submitted["errors"] == []
    read = await api.gql(WITNESSES, {"id": submitted["evidence"]["id"]}, account.token)
    assert read["evidence"]["witnesses"] == witnesses
    before = await api.table_counts()
    cousin = {"witnessName": "Pak Joko", "relationship": "COUSIN"}
    response = await api.post(
        SUBMIT, {"input": {**variables["input"], "witnesses": [cousin]}}, account.token
    )
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert await api.table_counts() == before


async def test_messages_name_states_as_the_schema_does(api):
    siti = await create_user(api, "siti", ["organizer"])
    task = await create_task(api, siti)
    cancel = "mutation($t: ID!) { taskCancel(input: {taskId: $t}) { errors { message } } }"
    assert (await api.gql(cancel, {"t": task["id"]}, siti.token))["taskCancel"]["errors"] == []
    again = await api.gql(cancel, {"t": task["id"]}, siti.token)
    assert again["taskCancel"]["errors"] == [{"message": "cannot cancel a task that is CANCELLED"}]


UTC_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SUBMIT_GPS = """mutation($input: EvidenceSubmitInput!) { evidenceSubmit(input: $input) {
  evidence { id timestamp createdAt } errors { path code } } }"""


def _gps(contribution_id: str, timestamp: object) -> dict[str, object]:
    return {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "GPS_VERIFICATION",
            "timestamp": timestamp,
            "location": {"latitude": -7.8, "longitude": 110.36},
        }
    }


async def test_date_times_are_rfc3339_with_an_offset_in_and_utc_out(api):
    account, contribution_id = await contributor_with_contribution(api)
    wib = timezone(timedelta(hours=7))
    moment = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    sent = {
        moment.astimezone(wib).isoformat(): moment,
        moment.strftime("%Y-%m-%dt%H:%M:%S.123456789z"): moment.replace(microsecond=123456),
        moment.astimezone(wib).strftime("%Y-%m-%dT%H:%M:%S.5%z")[:-2] + ":00": moment.replace(
            microsecond=500000
        ),
    }
    for text, expected in sent.items():
        payload = (await api.gql(SUBMIT_GPS, _gps(contribution_id, text), account.token))[
            "evidenceSubmit"
        ]
        assert payload["errors"] == [], text
        evidence = payload["evidence"]
        assert evidence["timestamp"] == expected.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), text
        assert UTC_TEXT.fullmatch(evidence["createdAt"]), evidence["createdAt"]

    types = await api.gql(
        '{ __type(name: "DateTime") { kind specifiedByURL } }', token=account.token
    )
    assert types["__type"] == {
        "kind": "SCALAR",
        "specifiedByURL": "https://scalars.graphql.org/andimarek/date-time",
    }


async def test_a_time_that_is_not_rfc3339_with_an_offset_is_invalid_timestamp_in_the_payload(api):
    account, contribution_id = await contributor_with_contribution(api)
    before = await api.table_counts()
    naive = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    for value in (naive, "2026-02-09", 1795860000, "yesterday", "2026-02-30T10:00:00Z", True):
        response = await api.post(SUBMIT_GPS, _gps(contribution_id, value), account.token)
        assert response.status_code == 200, value
        body = response.json()
        assert "errors" not in body, value
        assert body["data"]["evidenceSubmit"] == {
            "evidence": None,
            "errors": [{"path": ["input", "timestamp"], "code": "INVALID_TIMESTAMP"}],
        }, value
    # The same for a literal written into the document rather than passed as a variable.
    literal = f"""mutation {{ evidenceSubmit(input: {{contributionId: "{contribution_id}",
      evidenceType: GPS_VERIFICATION, timestamp: 1795860000,
      location: {{latitude: 1, longitude: 1}}}})
      {{ evidence {{ id }} errors {{ path code }} }} }}"""
    data = await api.gql(literal, token=account.token)
    assert data["evidenceSubmit"]["errors"] == [
        {"path": ["input", "timestamp"], "code": "INVALID_TIMESTAMP"}
    ]
    assert await api.table_counts() == before


PLACE = """mutation($input: EvidenceSubmitInput!) { evidenceSubmit(input: $input) {
  evidence { evidenceType latitude longitude accuracyMeters } errors { path code } } }"""
FIELD_TYPES = """{
  contribution: __type(name: "Contribution") { fields { name type { ofType { name } } } }
  evidence: __type(name: "Evidence") { fields { name type { ofType { name } } } } }"""


async def test_one_vocabulary_for_places_and_types(api):
    account, contribution_id = await contributor_with_contribution(api)
    variables = _gps(contribution_id, _now())
    location = {"latitude": -7.8, "longitude": 110.36, "accuracyMeters": 12.5}
    variables["input"]["location"] = location
    payload = (await api.gql(PLACE, variables, account.token))["evidenceSubmit"]
    assert payload == {"evidence": {"evidenceType": "GPS_VERIFICATION", **location}, "errors": []}
    before = await api.table_counts()
    variables["input"]["location"] = {**location, "accuracyMeters": -1}
    refused = (await api.gql(PLACE, variables, account.token))["evidenceSubmit"]
    assert refused["errors"] == [
        {"path": ["input", "location", "accuracyMeters"], "code": "INVALID_PAYLOAD"}
    ]
    variables["input"]["location"] = {"latitude": 91, "longitude": 0}
    refused = (await api.gql(PLACE, variables, account.token))["evidenceSubmit"]
    assert refused["errors"] == [
        {"path": ["input", "location", "latitude"], "code": "INVALID_COORDINATES"}
    ]
    assert await api.table_counts() == before

    types = await api.gql(FIELD_TYPES, token=account.token)
    contribution = {f["name"]: f["type"]["ofType"] for f in types["contribution"]["fields"]}
    evidence = {f["name"]: f["type"]["ofType"] for f in types["evidence"]["fields"]}
    assert contribution["contributionType"] == {"name": "ContributionType"}
    assert evidence["evidenceType"] == {"name": "EvidenceType"}


USER_BY = "query($by: UserByInput!) { user(by: $by) { username } }"


async def test_user_is_found_by_exactly_one_of_id_and_username(api):
    ayu = await register(api, "ayu")
    for by in ({"id": ayu.id}, {"username": "AYU"}):
        assert (await api.gql(USER_BY, {"by": by}, ayu.token))["user"] == {"username": "ayu"}
    for by in ({"username": "nobody"}, {"id": "VXNlcjpub3QtYS11dWlk"}):
        assert (await api.gql(USER_BY, {"by": by}, ayu.token))["user"] is None
    for by in ({"id": ayu.id, "username": "ayu"}, {}, {"username": None}):
        response = await api.post(USER_BY, {"by": by}, ayu.token)
        body = response.json()
        assert "data" not in body, by  # a request error: nothing ran
        assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}, by
    literal = await api.post(
        '{ user(by: {id: "x", username: "ayu"}) { username } }', None, ayu.token
    )
    assert literal.json()["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    introspected = await api.gql(
        '{ __type(name: "UserByInput") { isOneOf inputFields { name } } }', token=ayu.token
    )
    assert introspected["__type"] == {
        "isOneOf": True,
        "inputFields": [{"name": "id"}, {"name": "username"}],
    }


async def test_me_tells_logged_out_from_expired_and_invalid(api, settings):
    ayu = await register(api, "ayu")
    assert await api.gql("{ me { username } }", token=ayu.token) == {"me": {"username": "ayu"}}
    assert await api.gql("{ me { username } }") == {"me": None}  # no token: logged out

    (row,) = await api.sql("SELECT id FROM users")
    expired = TokenCodec(settings).issue(
        uuid.UUID(str(row.id)), "access", now=datetime.now(UTC) - timedelta(hours=1)
    )
    cases = {expired.token: "TOKEN_EXPIRED", ayu.token[:-4] + "AAAA": "INVALID_TOKEN"}
    for token, reason in cases.items():
        response = await api.post("{ me { username } }", token=token)
        assert response.status_code == 200
        body = response.json()
        assert body["data"] == {"me": None}
        (error,) = body["errors"]
        assert error["path"] == ["me"]
        assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
