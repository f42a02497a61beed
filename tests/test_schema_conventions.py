"""The conventions of SPEC 7 that a client's code generator relies on, through HTTP: one error
interface, enums both ways, one DateTime, one vocabulary for places, `user(by:)`, and `me`."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.evidence.helpers import contributor_with_contribution
from tests.helpers import register

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
        {"witnessName": "Pak Joko", "relationship": "peer"},
        {"witnessName": "Bu Sri", "relationship": "supervisor"},
        {"witnessName": "  ", "relationship": "other"},
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
