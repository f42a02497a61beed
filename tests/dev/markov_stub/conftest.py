from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.dev.markov_stub.stub_requests import (
    PREVIOUS,
    TOKEN,
    stub_client,
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with stub_client(previous_secret=PREVIOUS, api_token=TOKEN) as client:
        yield client
