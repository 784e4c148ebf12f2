"""Reply slots and the per-user AI rate: in memory, in Redis (shared by workers), and Redis down."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.conf import settings

from aifriend import limits
from tests.conftest import services_required

redis_only = pytest.mark.skipif(
    not settings.REDIS_URL and not services_required(), reason="needs REDIS_URL (shared slots and counters)"
)


async def _exercise(key: str, user: str) -> None:
    token = await limits.acquire_slot(key)
    assert token is not None
    assert await limits.acquire_slot(key) is None  # held
    await limits.release_slot(key, "someone-else")  # only the holder releases
    assert await limits.acquire_slot(key) is None
    await limits.release_slot(key, token)
    again = await limits.acquire_slot(key)
    assert again is not None
    await limits.release_slot(key, again)
    assert [await limits.allow(user) for _ in range(4)] == [True, True, False, False]


async def test_in_memory(settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.AI_RATE_LIMIT_PER_MINUTE = 2
    await _exercise(f"user:{secrets.token_hex(4)}", secrets.token_hex(4))


@redis_only
@pytest.mark.redis
async def test_in_redis_visible_to_every_worker(settings: Any) -> None:
    import redis.asyncio as aioredis

    settings.AI_RATE_LIMIT_PER_MINUTE = 2
    key, user = f"user:{secrets.token_hex(4)}", secrets.token_hex(4)
    token = await limits.acquire_slot(key)
    assert token is not None
    limits.reset_memory()  # another worker: nothing in its memory, the slot is still held
    assert await limits.acquire_slot(key) is None
    async with aioredis.Redis.from_url(settings.REDIS_URL) as client:
        assert await client.get(f"{limits._prefix()}:slot:{key}") == token.encode()
        assert 0 < await client.pttl(f"{limits._prefix()}:slot:{key}") <= limits.SLOT_TTL * 1000
    await limits.release_slot(key, token)
    await _exercise(key, user)


async def test_redis_down_falls_back_to_this_process(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.AI_RATE_LIMIT_PER_MINUTE = 2
    await _exercise(f"user:{secrets.token_hex(4)}", secrets.token_hex(4))
    assert "Redis unavailable" in caplog.text


async def test_zero_disables_the_rate_limit(settings: Any) -> None:
    settings.AI_RATE_LIMIT_PER_MINUTE = 0
    assert all([await limits.allow("anyone") for _ in range(50)])
