from __future__ import annotations

import pytest

from gotong_gql.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests read hundreds of pages in a minute; the rate limits have their own tests."""
    return settings.model_copy(update={"rate_limit_enabled": False})
