"""Cost control for AI calls: one reply in flight per user (and per group), and a per-user rate.

Both live in Redis when ``REDIS_URL`` is set, so they hold across worker processes; otherwise in
this process's memory (the single-process default). A Redis failure never blocks a reply: it is
logged and the in-memory state is used for that call.

- Reply slots: ``acquire_slot("user:<id>")`` returns a token, or None while another reply holds
  the slot. Slots expire on their own (``SLOT_TTL``) in case a process dies mid-reply.
- Rate: ``allow(user_id)`` counts one AI request in the current one-minute window and says
  whether the user is still under ``AI_RATE_LIMIT_PER_MINUTE``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from django.conf import settings

from aifriend import conf

logger = logging.getLogger(__name__)

SLOT_TTL = 180.0
WINDOW = 60

_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""

_lock = threading.Lock()
_slots: dict[str, tuple[str, float]] = {}
_hits: dict[str, tuple[int, int]] = {}


def _prefix() -> str:
    layer: dict[str, Any] = dict(settings.CHANNEL_LAYERS.get("default", {}))
    config: dict[str, Any] = dict(layer.get("CONFIG") or {})
    prefix = str(config.get("prefix") or "retrochat")
    return f"{prefix}:ai"


def _redis() -> Any:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def reset_memory() -> None:
    """Forget every in-memory slot and counter (tests)."""
    with _lock:
        _slots.clear()
        _hits.clear()


def _memory_acquire(key: str, token: str) -> bool:
    now = time.monotonic()
    with _lock:
        held = _slots.get(key)
        if held is not None and held[1] > now:
            return False
        _slots[key] = (token, now + SLOT_TTL)
        return True


def _memory_release(key: str, token: str) -> None:
    with _lock:
        held = _slots.get(key)
        if held is not None and held[0] == token:
            del _slots[key]


def _memory_hit(key: str) -> int:
    window = int(time.time()) // WINDOW
    with _lock:
        start, count = _hits.get(key, (window, 0))
        if start != window:
            start, count = window, 0
        _hits[key] = (start, count + 1)
        return count + 1


async def acquire_slot(key: str) -> str | None:
    """A token holding the reply slot ``key``, or None if a reply already holds it."""
    token = secrets.token_hex(8)
    client = _redis()
    if client is not None:
        try:
            async with client:
                ok = await client.set(f"{_prefix()}:slot:{key}", token, nx=True, px=int(SLOT_TTL * 1000))
            return token if ok else None
        except Exception:
            logger.warning("AI reply slot: Redis unavailable, using this process's state", exc_info=True)
    return token if _memory_acquire(key, token) else None


async def release_slot(key: str, token: str) -> None:
    client = _redis()
    if client is not None:
        try:
            async with client:
                await client.eval(_RELEASE_SCRIPT, 1, f"{_prefix()}:slot:{key}", token)
        except Exception:
            logger.warning("AI reply slot: Redis unavailable while releasing %s", key, exc_info=True)
    _memory_release(key, token)


async def allow(user_id: str) -> bool:
    """Count one AI request of ``user_id``; False once the per-minute limit is exceeded."""
    limit = conf.rate_limit_per_minute()
    if limit <= 0:
        return True
    window = int(time.time()) // WINDOW
    key = f"rate:{user_id}:{window}"
    client = _redis()
    if client is not None:
        try:
            async with client:
                count = int(await client.incr(f"{_prefix()}:{key}"))
                if count == 1:
                    await client.expire(f"{_prefix()}:{key}", WINDOW * 2)
            return count <= limit
        except Exception:
            logger.warning("AI rate limit: Redis unavailable, using this process's state", exc_info=True)
    return _memory_hit(f"rate:{user_id}") <= limit
