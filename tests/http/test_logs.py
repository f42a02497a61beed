"""What the whole test run logged holds no password, token or secret.

tests/conftest.py writes every log record of the run (INFO and above, as in production) to
`session.log` under pytest's base temp, and orders this test last. Servers and workers started
by other tests write their own logs under the same base temp: they are searched too. The test
first sends risky traffic of its own (so that it means something when run alone), then greps.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, quote_plus

from tests.conftest import JWT_SECRET
from tests.helpers import LOGIN, PASSWORD, REGISTER, register
from tests.http.conftest import client_for

CANARY = "canary-Pa55word-do-not-log"
DEMO_PASSWORD = "gotong-demo-password"  # `seed-demo`, used by tests/e2e
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def _secrets() -> list[str]:
    from tests.oidc.provider import CLIENT, SECOND_CLIENT
    from tests.webhook.conftest import MARKOV_SECRET, MARKOV_TOKEN

    found = [PASSWORD, CANARY, DEMO_PASSWORD, JWT_SECRET, MARKOV_SECRET, MARKOV_TOKEN]
    found += [CLIENT["client_secret"], SECOND_CLIENT["client_secret"]]  # OpenID clients
    return sorted(
        {form for secret in found for form in (secret, quote(secret), quote_plus(secret))}
    )


async def _risky_traffic(api) -> None:
    variables = {"input": {"username": "canary", "email": "canary@example.org", "password": CANARY}}
    await api.client.post("/graphql", json={"query": REGISTER, "variables": variables})
    attempts = [
        {"login": "canary", "password": CANARY},  # right
        {"login": "canary", "password": CANARY + "x"},  # wrong
        {"login": "canary", "password": [CANARY]},  # wrong type: echoed in the error message
        {"login": CANARY, "password": CANARY},  # a password typed into the login field
    ]
    for attempt in attempts:
        await api.client.post("/graphql", json={"query": LOGIN, "variables": attempt})
    literal = 'mutation { tokenCreate(input: {login: "canary", password: ["%s"]}) { accessToken } }'
    await api.client.post("/graphql", json={"query": literal % CANARY})
    account = await register(api, "logaudit")
    for token in (account.token, account.refresh_token, account.token[:-4] + "AAAA"):
        await api.post("{ tasks(first: 1) { edges { node { id } } } }", token=token)
        await api.post("{ me { id } }", token=token)
    refresh = (
        "mutation($t: String!) { tokenRefresh(input: {refreshToken: $t}) { errors { code } } }"
    )
    await api.post(refresh, {"t": account.refresh_token})
    await api.post(refresh, {"t": account.refresh_token})  # reused: the family is revoked
    async with client_for(api.app, "192.0.2.250") as guesser:  # until rate limited
        for _ in range(12):
            await guesser.post("/graphql", json={"query": LOGIN, "variables": attempts[1]})


async def test_logs_contain_no_password_token_or_secret(api, session_log: Path):
    await _risky_traffic(api)
    logs = [session_log, *sorted(session_log.parent.rglob("*.log"))]
    assert session_log.stat().st_size > 0
    leaks = []
    for path in dict.fromkeys(logs):
        text = path.read_text(errors="replace")
        leaks += [f"{path.name}: {secret!r}" for secret in _secrets() if secret in text]
        leaks += [f"{path.name}: a JWT {match[:16]}..." for match in JWT.findall(text)]
    assert leaks == []
