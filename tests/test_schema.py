from pathlib import Path

from graphql import build_schema

from gotong_gql.graphql.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_is_current():
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "schema.graphql is stale: run `gotong-gql export-schema > schema.graphql`"
    )


def test_contract_names_exist():
    sdl = schema.as_str()
    for name in (
        "accountRegister",
        "accountUpdate",
        "tokenCreate",
        "tokenRefresh",
        "tokenRevoke",
        "accountRoleGrant",
        "accountRoleRevoke",
        "taskCreate",
        "taskUpdate",
        "taskAssign",
        "taskClaim",
        "taskStart",
        "taskCancel",
        "taskUpdated",
        "taskEvents",
        "interface Node",
        "type PageInfo",
        "interface UserError",
        'scalar DateTime @specifiedBy(url: "https://scalars.graphql.org/andimarek/date-time")',
        "input UserByInput @oneOf",
        "viewerCanUpdate",
        "viewerCanVerify",
        "viewerCanVouch",
    ):
        assert name in sdl, name
    # Arguments print on their own lines once described: compare the built field, not the text.
    user = build_schema(sdl).query_type.fields["user"]
    assert {name: str(arg.type) for name, arg in user.args.items()} == {"by": "UserByInput!"}
    assert str(user.type) == "User"
