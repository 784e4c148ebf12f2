"""Shared by ``online`` and ``broadcast``: reaching the workers from a management command.

A command runs in its own process. It can only see or reach the workers through what they
share: Redis (the presence store and the channel layer). Without ``REDIS_URL`` every worker
keeps both in memory, so these commands refuse to run rather than report an empty world.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from chat.presence_store import RedisPresenceStore, get_presence_store


def require_redis(command: str) -> RedisPresenceStore:
    """The shared presence store, or a `CommandError` explaining why there is none."""
    if not settings.REDIS_URL:
        raise CommandError(
            f"{command} needs REDIS_URL: without Redis each worker keeps its sockets and presence in its own "
            "memory, out of reach of this command"
        )
    store = get_presence_store()
    if not isinstance(store, RedisPresenceStore):
        raise CommandError(f"{command} needs the Redis presence store (REDIS_URL is set but another store is in use)")
    return store


@dataclass(frozen=True)
class Presence:
    sockets_per_user: Counter[str]

    @property
    def users(self) -> int:
        return len(self.sockets_per_user)

    @property
    def sockets(self) -> int:
        return sum(self.sockets_per_user.values())


def read_presence(store: RedisPresenceStore) -> Presence:
    """Every live presence entry (one per socket, any worker), read from Redis now."""
    import redis

    client: Any = redis.Redis.from_url(store.url, socket_connect_timeout=3, socket_timeout=5)
    try:
        seconds, micros = client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        members: list[Any] = client.zrangebyscore(store.index_key, f"({now_ms}", "+inf")
    except redis.RedisError as exc:
        raise CommandError(f"Redis is unreachable ({exc.__class__.__name__}: {exc})") from exc
    finally:
        client.close()
    per_user: Counter[str] = Counter()
    for member in members:
        text = member.decode() if isinstance(member, bytes) else str(member)
        user_id, _, sid = text.partition(" ")
        if user_id and sid:
            per_user[user_id] += 1
    return Presence(per_user)
