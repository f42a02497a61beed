"""Object URLs are built on the address the client used: PUBLIC_BASE_URL when set, else the
request's Host, or X-Forwarded-Host and X-Forwarded-Proto from a trusted proxy only
(FORWARDED_ALLOW_IPS, 127.0.0.1 by default). (tests/e2e/test_server.py uploads through a real
server on a free port.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.evidence.helpers import CONTRIBUTE, REQUEST
from tests.helpers import register
from tests.http.conftest import client_for

PROXY_HEADERS = {"X-Forwarded-Host": "api.gotong.example", "X-Forwarded-Proto": "https"}


def request_variables(contribution_id: str) -> dict:
    stamp = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    return {
        "input": {
            "contributionId": contribution_id,
            "evidenceType": "PHOTO_WITH_TIMESTAMP",
            "contentType": "image/jpeg",
            "sizeBytes": 60 * 1024,
            "timestamp": stamp.isoformat(),
        }
    }


async def upload_url(api, client, headers: dict[str, str]) -> str:
    account = await register(api, f"ayu{uuid.uuid4().hex[:8]}")
    created = await api.gql(CONTRIBUTE, token=account.token)
    contribution_id = created["contributionCreate"]["contribution"]["id"]
    response = await client.post(
        "/graphql",
        json={"query": REQUEST, "variables": request_variables(contribution_id)},
        headers={"Authorization": f"Bearer {account.token}", **headers},
    )
    payload = response.json()["data"]["evidenceUploadRequest"]
    assert payload["errors"] == []
    return payload["upload"]["url"]


@pytest.mark.parametrize(
    ("ip", "headers", "base"),
    [
        ("127.0.0.1", {}, "http://testserver/objects/"),
        ("127.0.0.1", {"Host": "127.0.0.1:8123"}, "http://127.0.0.1:8123/objects/"),
        ("127.0.0.1", {"Host": "[::1]:8123"}, "http://[::1]:8123/objects/"),
        ("127.0.0.1", PROXY_HEADERS, "https://api.gotong.example/objects/"),
        (
            "127.0.0.1",
            {**PROXY_HEADERS, "X-Forwarded-Host": "api.gotong.example:8443, proxy.internal"},
            "https://api.gotong.example:8443/objects/",
        ),
        # Not a trusted proxy: its X-Forwarded-* are ignored.
        ("203.0.113.9", PROXY_HEADERS, "http://testserver/objects/"),
        # A Host that cannot go into a URL: the address the server listens on.
        ("127.0.0.1", {"Host": "evil.example/x?y"}, "http://testserver/objects/"),
        ("127.0.0.1", {"X-Forwarded-Host": "evil.example/@x"}, "http://testserver/objects/"),
    ],
)
async def test_upload_urls_follow_the_address_the_client_used(api, clients, ip, headers, base):
    url = await upload_url(api, clients(ip), headers)
    assert url.startswith(f"{base}photos/"), url


async def test_a_trusted_network_is_a_setting(make_api):
    api = await make_api(forwarded_allow_ips="10.0.0.0/8")
    async with client_for(api.app, "10.1.2.3") as proxied, client_for(api.app) as local:
        assert (await upload_url(api, proxied, PROXY_HEADERS)).startswith(
            "https://api.gotong.example/objects/"
        )
        assert (await upload_url(api, local, PROXY_HEADERS)).startswith(
            "http://testserver/objects/"
        )


async def test_public_base_url_wins_when_set(make_api):
    api = await make_api(public_base_url="https://uploads.gotong.example/")
    url = await upload_url(api, api.client, {"Host": "127.0.0.1:8123", **PROXY_HEADERS})
    assert url.startswith("https://uploads.gotong.example/objects/photos/")
