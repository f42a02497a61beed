"""A provider that is stopped, or does not answer, is OIDC_PROVIDER_UNAVAILABLE (after
OIDC_TIMEOUT_SECONDS, 2 s here); one that rotated its keys is trusted again at once (the key
set is fetched again on an unknown `kid`). This module's provider is its own: it is stopped."""

from __future__ import annotations

import time

import pytest

from tests.oidc.flow import authorize, sign_in, start, token_create, without_states

pytestmark = pytest.mark.slow


async def test_a_stopped_provider_is_unavailable_and_nothing_is_written(api, provider):
    redirect = await authorize(api, "ayu")  # discovery and keys are now cached
    provider.stop()
    try:
        before = await api.table_counts()
        payload = await token_create(api, redirect)
        assert payload["accessToken"] is None
        assert [(e["code"], e["path"]) for e in payload["errors"]] == [
            ("OIDC_PROVIDER_UNAVAILABLE", None)
        ]
        assert without_states(await api.table_counts()) == without_states(before)
    finally:
        provider.start()


async def test_discovery_of_a_stopped_provider_is_unavailable(api, provider):
    provider.stop()
    try:
        before = await api.table_counts()
        started = await start(api)  # a new app: nothing cached
        assert started["authorizationUrl"] is None and started["state"] is None
        assert [e["code"] for e in started["errors"]] == ["OIDC_PROVIDER_UNAVAILABLE"]
        assert await api.table_counts() == before
    finally:
        provider.start()


async def test_a_provider_that_does_not_answer_times_out(api, provider):
    redirect = await authorize(api, "budi")
    provider.freeze()
    try:
        before = await api.table_counts()
        began = time.monotonic()
        payload = await token_create(api, redirect)
        waited = time.monotonic() - began
        assert [e["code"] for e in payload["errors"]] == ["OIDC_PROVIDER_UNAVAILABLE"]
        assert waited >= 2  # OIDC_TIMEOUT_SECONDS, not a refused connection
        assert without_states(await api.table_counts()) == without_states(before)
    finally:
        provider.thaw()


async def test_rotated_keys_are_fetched_again(api, provider):
    first = await sign_in(api, "citra")
    provider.stop()
    provider.kid = "key-2"  # a new key pair under a new kid, on the same issuer
    provider.start()
    again = await sign_in(api, "citra")  # the app still holds key-1 only
    assert again["user"] == first["user"]
