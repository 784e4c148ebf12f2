"""Fixtures of the operations tests."""

from __future__ import annotations

import os

import pytest
from django.conf import settings


@pytest.fixture
def needs_redis() -> None:
    """Skip without REDIS_URL, except with RETROCHAT_REQUIRE_SERVICES=1, where the test fails."""
    if settings.REDIS_URL:
        return
    if os.environ.get("RETROCHAT_REQUIRE_SERVICES") == "1":
        pytest.fail("RETROCHAT_REQUIRE_SERVICES=1 but REDIS_URL is not set")
    pytest.skip("needs Redis (set REDIS_URL)")
