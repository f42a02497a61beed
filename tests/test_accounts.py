from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from gotong_gql.security import TokenCodec
from tests.helpers import (
    GRANT,
    LOGIN,
    PASSWORD,
    REGISTER,
    create_user,
    input_path,
    login,
    register,
)

ME = "{ me { id username email roles bio location avatarUrl skills { skill { name } } } }"
REFRESH = """
mutation($token: String!) {
  tokenRefresh(input: {refreshToken: $token}) { accessToken refreshToken errors { path code } }
}"""
REVOKE = """
mutation($token: String!, $all: Boolean!) {
  tokenRevoke(input: {refreshToken: $token, allSessions: $all}) { revoked errors { path code } }
}"""
UPDATE = """
mutation($input: AccountUpdateInput!) {
  accountUpdate(input: $input) {
    user { bio location avatarUrl skills { skill { name } proficiency endorsementsCount } }
    errors { path message code }
  }
}"""


async def test_register_login_and_me(api):
    data = await api.gql(
        REGISTER, {"input": {"username": "ayu", "email": "Ayu@Example.org", "password": PASSWORD}}
    )
    payload = data["accountRegister"]
    assert payload["errors"] == []
    assert payload["user"]["username"] == "ayu"
    assert payload["user"]["roles"] == ["CONTRIBUTOR"]

    account = await login(api, "ayu@example.org")  # login by email, case-insensitively stored
    me = (await api.gql(ME, token=account.token))["me"]
    assert me == {
        "id": account.id,
        "username": "ayu",
        "email": "ayu@example.org",
        "roles": ["CONTRIBUTOR"],
        "bio": None,
        "location": None,
        "avatarUrl": None,
        "skills": [],
    }
    (user_row,) = await api.sql("SELECT password_hash, markov_user_id FROM users")
    assert user_row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user_row.password_hash
    assert user_row.markov_user_id.startswith("gotong_royong:")
    (entry,) = await api.sql("SELECT action, entity FROM audit_log")
    assert tuple(entry) == ("user.register", "user")


async def test_me_is_null_without_token(api):
    assert (await api.gql(ME))["me"] is None


async def test_register_refusals_write_nothing(api):
    await register(api, "ayu")
    before = await api.table_counts()
    cases = [
        ({"username": "ayu", "email": "other@example.org"}, "USERNAME_TAKEN", "username"),
        ({"username": "AYU", "email": "other@example.org"}, "USERNAME_TAKEN", "username"),
        ({"username": "other", "email": "ayu@example.org"}, "EMAIL_TAKEN", "email"),
        ({"username": "ab", "email": "x@example.org"}, "INVALID_INPUT", "username"),
        ({"username": "has space", "email": "x@example.org"}, "INVALID_INPUT", "username"),
        ({"username": "fine", "email": "not-an-email"}, "INVALID_INPUT", "email"),
        (
            {"username": "fine", "email": "x@example.org", "password": "short"},
            "INVALID_INPUT",
            "password",
        ),
    ]
    for fields, code, field in cases:
        data = await api.gql(REGISTER, {"input": {"password": PASSWORD, **fields}})
        payload = data["accountRegister"]
        assert payload["user"] is None
        found = [(e["code"], e["path"]) for e in payload["errors"]]
        assert found == [(code, input_path(field))], fields
    assert await api.table_counts() == before


async def test_registration_answers_never_link_an_email_to_a_username(api):
    """Each unique field is checked on its own and every taken one is reported, username first:
    whose email it is cannot be read from the answer."""
    await register(api, "budi")
    await register(api, "dewi")
    before = await api.table_counts()
    both = [("USERNAME_TAKEN", "username"), ("EMAIL_TAKEN", "email")]
    cases = [
        ("budi", "dewi@example.org", both),
        ("dewi", "dewi@example.org", both),
        ("DEWI", "Dewi@Example.org", both),
        ("newcomer", "dewi@example.org", [("EMAIL_TAKEN", "email")]),
        ("budi", "newcomer@example.org", [("USERNAME_TAKEN", "username")]),
    ]
    for username, email, expected in cases:
        variables = {"input": {"username": username, "email": email, "password": PASSWORD}}
        payload = (await api.gql(REGISTER, variables))["accountRegister"]
        assert payload["user"] is None
        found = [(e["code"], e["path"]) for e in payload["errors"]]
        assert found == [(code, input_path(field)) for code, field in expected], (username, email)
    assert await api.table_counts() == before


async def test_wrong_password_and_unknown_user_look_the_same(api):
    await register(api, "ayu")
    wrong = (await api.gql(LOGIN, {"login": "ayu", "password": "wrong password"}))["tokenCreate"]
    unknown = (await api.gql(LOGIN, {"login": "nobody", "password": PASSWORD}))["tokenCreate"]
    for payload in (wrong, unknown):
        assert payload["accessToken"] is None
        assert payload["errors"] == [
            {"path": None, "message": "wrong login or password", "code": "INVALID_CREDENTIALS"}
        ]


async def test_refresh_rotates_and_reuse_revokes_the_family(api):
    account = await register(api, "ayu")
    first = (await api.gql(REFRESH, {"token": account.refresh_token}))["tokenRefresh"]
    assert first["errors"] == []
    assert first["refreshToken"] != account.refresh_token
    me = (await api.gql("{ me { username } }", token=first["accessToken"]))["me"]
    assert me == {"username": "ayu"}

    # The old token comes back (stolen?): refused, and the whole family dies with it.
    reused = (await api.gql(REFRESH, {"token": account.refresh_token}))["tokenRefresh"]
    assert reused["errors"] == [{"path": ["input", "refreshToken"], "code": "TOKEN_REUSED"}]
    assert reused["accessToken"] is None
    after_reuse = (await api.gql(REFRESH, {"token": first["refreshToken"]}))["tokenRefresh"]
    assert after_reuse["errors"] == [{"path": ["input", "refreshToken"], "code": "TOKEN_REVOKED"}]
    rows = await api.sql("SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL")
    assert rows[0].n == 0

    # Another login (another family) is untouched.
    other = await login(api, "ayu")
    fresh = (await api.gql(REFRESH, {"token": other.refresh_token}))["tokenRefresh"]
    assert fresh["errors"] == []


async def test_revoke_logs_out(api):
    account = await register(api, "ayu")
    second = await login(api, "ayu")
    payload = await api.gql(REVOKE, {"token": account.refresh_token, "all": False})
    assert payload["tokenRevoke"] == {"revoked": True, "errors": []}
    refused = (await api.gql(REFRESH, {"token": account.refresh_token}))["tokenRefresh"]
    assert refused["errors"] == [{"path": ["input", "refreshToken"], "code": "TOKEN_REVOKED"}]
    still = (await api.gql(REFRESH, {"token": second.refresh_token}))["tokenRefresh"]
    assert still["errors"] == []

    everything = await api.gql(REVOKE, {"token": still["refreshToken"], "all": True})
    assert everything["tokenRevoke"]["revoked"] is True
    rows = await api.sql("SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL")
    assert rows[0].n == 0


def _forge(token: str, header: dict, claims_patch: dict | None = None, keep_sig=True) -> str:
    _head, body, sig = token.split(".")
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(claims_patch or {})
    return f"{enc(header)}.{enc(claims)}.{sig if keep_sig else ''}"


async def test_expired_tampered_and_wrong_type_tokens_are_refused(api, settings):
    account = await register(api, "ayu")
    codec = TokenCodec(settings)
    user_id = uuid.UUID(base64.b64decode(account.id).decode().split(":")[1])
    expired = codec.issue(user_id, "access", now=datetime.now(UTC) - timedelta(hours=1)).token
    tampered = _forge(account.token, {"alg": "HS256", "typ": "JWT"}, {"sub": str(uuid.uuid4())})
    alg_none = _forge(account.token, {"alg": "none", "typ": "JWT"}, keep_sig=False)
    other_alg = _forge(account.token, {"alg": "HS512", "typ": "JWT"})
    cases = {
        expired: "TOKEN_EXPIRED",
        tampered: "INVALID_TOKEN",
        alg_none: "INVALID_TOKEN",
        other_alg: "INVALID_TOKEN",
        account.refresh_token: "INVALID_TOKEN",  # a refresh token is not an access token
        "garbage": "INVALID_TOKEN",
    }
    for token, reason in cases.items():
        response = await api.post("{ tasks(first: 1) { edges { node { id } } } }", token=token)
        body = response.json()
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
    # An access token is not a refresh token either.
    refused = (await api.gql(REFRESH, {"token": account.token}))["tokenRefresh"]
    assert refused["errors"] == [{"path": ["input", "refreshToken"], "code": "INVALID_TOKEN"}]


async def test_a_remembered_access_token_still_expires_on_time(api, settings):
    """The server remembers access tokens it has checked (security.TokenCodec); a remembered
    one is refused as soon as its time is up, on both read paths."""
    from gotong_gql.security import LEEWAY_SECONDS

    account = await register(api, "ayu")
    user_id = uuid.UUID(base64.b64decode(account.id).decode().split(":")[1])
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    # Valid for about two more seconds (leeway included).
    issued_at = datetime.now(UTC) - ttl - timedelta(seconds=LEEWAY_SECONDS - 2)
    token = TokenCodec(settings).issue(user_id, "access", now=issued_at).token
    me = "{ me { username } }"
    tasks = "{ tasks(first: 1) { edges { node { id } } } }"
    for document in (me, tasks, me):
        body = (await api.post(document, token=token)).json()
        assert "errors" not in body, body
    await asyncio.sleep(2.5)
    for document, data in ((tasks, None), (me, {"me": None})):
        body = (await api.post(document, token=token)).json()
        assert body["data"] == data
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}


async def test_expired_refresh_token(api, settings):
    await register(api, "ayu")
    codec = TokenCodec(settings)
    (row,) = await api.sql("SELECT id FROM users")
    old = codec.issue(
        uuid.UUID(str(row.id)),
        "refresh",
        family_id=uuid.uuid4(),
        now=datetime.now(UTC) - timedelta(days=8),
    ).token
    payload = (await api.gql(REFRESH, {"token": old}))["tokenRefresh"]
    assert payload["errors"] == [{"path": ["input", "refreshToken"], "code": "TOKEN_EXPIRED"}]


async def test_account_update_and_skill_slugs(api):
    account = await register(api, "ayu")
    data = await api.gql(
        UPDATE,
        {
            "input": {
                "bio": "River volunteer",
                "location": "Yogyakarta",
                "avatarUrl": "https://example.org/a.png",
                "skills": ["Web Development", "  python_3 ", "web development"],
            }
        },
        account.token,
    )
    assert data["accountUpdate"] == {
        "user": {
            "bio": "River volunteer",
            "location": "Yogyakarta",
            "avatarUrl": "https://example.org/a.png",
            "skills": [
                {"skill": {"name": "python-3"}, "proficiency": 0.0, "endorsementsCount": 0},
                {"skill": {"name": "web-development"}, "proficiency": 0.0, "endorsementsCount": 0},
            ],
        },
        "errors": [],
    }
    skills = await api.gql(
        '{ skills(first: 10, search: "WEB") { edges { node { name } } } }', token=account.token
    )
    assert skills["skills"]["edges"] == [{"node": {"name": "web-development"}}]

    before = await api.table_counts()
    bad = await api.gql(UPDATE, {"input": {"bio": "x" * 501}}, account.token)
    assert bad["accountUpdate"]["errors"] == [
        {
            "path": ["input", "bio"],
            "message": "String should have at most 500 characters",
            "code": "INVALID_INPUT",
        }
    ]
    assert await api.table_counts() == before
    entries = await api.sql("SELECT action FROM audit_log ORDER BY at")
    assert [e.action for e in entries] == ["user.register", "user.update"]


async def test_roles_are_granted_and_revoked_by_admins_only(api):
    admin = await create_user(api, "root", ["admin"])
    ayu = await register(api, "ayu")
    budi = await register(api, "budi")

    denied = await api.gql(GRANT, {"userId": budi.id, "role": "ORGANIZER"}, ayu.token)
    assert denied["accountRoleGrant"]["errors"][0]["code"] == "FORBIDDEN"

    granted = await api.gql(GRANT, {"userId": ayu.id, "role": "ORGANIZER"}, admin.token)
    assert granted["accountRoleGrant"] == {
        "user": {"id": ayu.id, "roles": ["CONTRIBUTOR", "ORGANIZER"]},
        "errors": [],
    }
    refused = await api.gql(GRANT, {"userId": ayu.id, "role": "CONTRIBUTOR"}, admin.token)
    assert refused["accountRoleGrant"]["errors"][0]["code"] == "INVALID_ROLE"

    revoke = """mutation($userId: ID!, $role: Role!) {
      accountRoleRevoke(input: {userId: $userId, role: $role}) { user { roles } errors { code } }
    }"""
    revoked = await api.gql(revoke, {"userId": ayu.id, "role": "ORGANIZER"}, admin.token)
    assert revoked["accountRoleRevoke"] == {"user": {"roles": ["CONTRIBUTOR"]}, "errors": []}
    last = await api.gql(revoke, {"userId": admin.id, "role": "ADMIN"}, admin.token)
    assert last["accountRoleRevoke"]["errors"] == [{"code": "LAST_ADMIN"}]
    actions = [row.action for row in await api.sql("SELECT action FROM audit_log ORDER BY at")]
    assert actions.count("user.role_grant") == 2  # root at creation, ayu once
    assert actions.count("user.role_revoke") == 1


async def test_email_is_visible_to_owner_and_admins_only(api):
    admin = await create_user(api, "root", ["admin"])
    ayu = await register(api, "ayu")
    budi = await register(api, "budi")
    query = "query($u: String!) { user(by: {username: $u}) { username email } }"
    assert (await api.gql(query, {"u": "ayu"}, budi.token))["user"]["email"] is None
    assert (await api.gql(query, {"u": "ayu"}, ayu.token))["user"]["email"] == "ayu@example.org"
    assert (await api.gql(query, {"u": "ayu"}, admin.token))["user"]["email"] == "ayu@example.org"
