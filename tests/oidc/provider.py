"""The OpenID Provider of the tests (tests/clients/oidc_provider.mjs, npm `oidc-provider`) as a
process on 127.0.0.1, and a browser's walk through its login and consent forms."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.clients.conftest import CLIENTS, NODE
from tests.e2e.server import free_port

APP_REDIRECT = "https://app.example/oidc/callback"
CLIENT = {"client_id": "gotong", "client_secret": "gotong-test-client-secret-0123456789"}
SECOND_CLIENT = {"client_id": "gotong-second", "client_secret": "second-client-secret-0123456789"}


def _account(login: str, verified: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "claims": {
            "email": f"{login}@provider.example",
            "email_verified": verified,
            "name": login.title(),
            "preferred_username": login,
        },
        **extra,
    }


ACCOUNTS = {
    "ayu": _account("ayu"),
    "budi": _account("budi"),
    "citra": _account("citra"),
    "dewi": _account("dewi"),
    "eko": _account("eko"),
    "fajar": _account("fajar"),
    "gita": _account("gita"),
    "unverified": _account("unverified", verified=False),
    "userinfo": _account("userinfo", userinfoOnly=["email", "email_verified"]),
    "expired": _account("expired", mischief={"expiresIn": -120}),
    "stranger": _account("stranger", mischief={"aud": "someone-else"}),
    "owner": {"claims": {"email": "owner@example.org", "email_verified": True}},
}


@dataclass
class OpenIdProvider:
    """One `node oidc_provider.mjs` process; `restart` keeps its port (and so its issuer)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    kid: str = "key-1"
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "oidc_provider.log"

    def start(self, timeout: float = 30) -> OpenIdProvider:
        assert NODE, "node is needed for the OpenID Provider (Node.js 20.19 or newer)"
        config = self.workdir / "oidc_provider.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "kid": self.kid,
                    "clients": [
                        {**CLIENT, "redirect_uris": [APP_REDIRECT]},
                        {**SECOND_CLIENT, "redirect_uris": [APP_REDIRECT]},
                    ],
                    "accounts": ACCOUNTS,
                }
            )
        )
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [NODE, str(CLIENTS / "oidc_provider.mjs"), str(config)],
                cwd=CLIENTS,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while f"listening on {self.issuer}" not in self.log.read_text(errors="replace")[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OpenID Provider did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nothing answers them."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@dataclass(frozen=True)
class Redirect:
    """Where the provider sent the browser back: the app's redirect URI and its query."""

    url: str
    params: dict[str, str]

    @property
    def code(self) -> str:
        return self.params["code"]

    @property
    def state(self) -> str:
        return self.params["state"]


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)


def sign_in_at_provider(authorization_url: str, login: str, redirect_uri: str = APP_REDIRECT):
    """What a browser does: follow the authorization URL to the provider's login form, post it,
    post the consent form, and stop at the redirect to the app (which carries the code)."""
    with httpx.Client(timeout=15) as browser:
        response = browser.get(authorization_url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    query = parse_qs(urlsplit(location).query)
                    return Redirect(location, {key: values[0] for key, values in query.items()})
                response = browser.get(location)
                continue
            assert response.status_code == 200, response.text
            action = _FORM_ACTION.search(response.text)
            assert action, response.text
            target = urljoin(str(response.url), action[1].replace("&amp;", "&"))
            if 'name="prompt" value="login"' in response.text:
                form = {"prompt": "login", "login": login, "password": "any password"}
            else:
                assert 'name="prompt" value="consent"' in response.text, response.text
                form = {"prompt": "consent"}
            response = browser.post(target, data=form)
        raise AssertionError(f"no redirect to the app: {response.status_code} {response.text}")
