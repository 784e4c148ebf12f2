"""Who is online: one entry per live socket, shared by every worker.

A user is online while at least one of their sockets has an entry. The store decides the
transitions atomically, so that exactly one ``online`` goes out when a user's first socket
arrives and exactly one ``offline`` when the last one goes — whichever workers the sockets sit on:

- `RedisPresenceStore` (``REDIS_URL`` set): per user a sorted set ``sid -> expiry`` and one global
  sorted set of all entries by expiry. Each worker refreshes the entries of its own sockets every
  ``PRESENCE_TTL_SECONDS / 5`` and sweeps expired entries of every worker. An entry lives
  ``4/5 · PRESENCE_TTL_SECONDS`` after its last refresh, so when a worker is killed its users are
  offline for status queries at most 4/5 of the TTL later and their friends receive
  ``user:status`` offline at most ``PRESENCE_TTL_SECONDS`` (default 30 s) after the kill. Every
  transition runs as one Lua script on Redis time, so workers' clocks do not matter. (Keys are
  built inside the scripts: a single Redis server or a primary/replica setup, not Redis Cluster.)
- `MemoryPresenceStore` otherwise: the same semantics inside one process (where the in-memory
  channel layer also confines delivery); nothing can expire there because nothing else can die.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from django.conf import settings

DEFAULT_TTL_SECONDS = 30.0


def presence_ttl_seconds() -> float:
    return float(getattr(settings, "PRESENCE_TTL_SECONDS", DEFAULT_TTL_SECONDS))


class PresenceStore(Protocol):
    shared: bool
    """True when entries are shared between processes and must be refreshed (heartbeat) and swept."""

    async def connect(self, user_id: str, sid: str) -> bool:
        """Register a socket; True when it is the user's only live socket (the user came online)."""

    async def disconnect(self, user_id: str, sid: str) -> bool:
        """Forget a socket; True when no live socket of the user remains (the user went offline)."""

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        """The subset of ``user_ids`` that is online."""

    async def refresh_local(self) -> list[str]:
        """Heartbeat for this process's sockets; users whose expired entries came back (online again)."""

    async def sweep(self) -> list[str]:
        """Drop expired entries (of any process); users who thereby went offline."""


class MemoryPresenceStore:
    """In-process presence: ``user -> set of sids``."""

    shared = False

    def __init__(self) -> None:
        self._sockets: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    async def connect(self, user_id: str, sid: str) -> bool:
        with self._lock:
            sids = self._sockets.setdefault(user_id, set())
            first = not sids
            sids.add(sid)
            return first

    async def disconnect(self, user_id: str, sid: str) -> bool:
        with self._lock:
            sids = self._sockets.get(user_id)
            if not sids or sid not in sids:
                return False
            sids.discard(sid)
            if sids:
                return False
            del self._sockets[user_id]
            return True

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        with self._lock:
            return {uid for uid in user_ids if self._sockets.get(uid)}

    async def refresh_local(self) -> list[str]:
        return []

    async def sweep(self) -> list[str]:
        return []


# All times are Redis server time in milliseconds.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: user set, expiry index. ARGV: sid, index member, lifetime ms, key ttl ms. → 1 if came online.
_TOUCH = (
    _NOW
    + """
local live = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local expires = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('ZADD', KEYS[2], expires, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if live == 0 then return 1 end
return 0
"""
)

# KEYS: user set, expiry index. ARGV: sid, index member. → 1 if went offline.
_LEAVE = (
    _NOW
    + """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if removed == 0 then return 0 end
if redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') > 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
)

# KEYS: expiry index. ARGV: user key prefix, batch size. → users that went offline.
_SWEEP = (
    _NOW
    + """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local offline = {}
for _, member in ipairs(members) do
  redis.call('ZREM', KEYS[1], member)
  local space = string.find(member, ' ', 1, true)
  if space then
    local uid = string.sub(member, 1, space - 1)
    local sid = string.sub(member, space + 1)
    local ukey = ARGV[1] .. uid
    local score = redis.call('ZSCORE', ukey, sid)
    if score and tonumber(score) <= now then
      redis.call('ZREM', ukey, sid)
      if redis.call('ZCOUNT', ukey, '(' .. now, '+inf') == 0 then
        redis.call('DEL', ukey)
        table.insert(offline, uid)
      end
    end
  end
end
return offline
"""
)

# KEYS: user sets. → one 0/1 per key.
_ONLINE = (
    _NOW
    + """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('ZCOUNT', key, '(' .. now, '+inf') > 0 then out[i] = 1 else out[i] = 0 end
end
return out
"""
)


class RedisPresenceStore:
    """Presence shared by every worker through Redis, with expiring per-socket entries."""

    shared = True
    sweep_batch = 500

    def __init__(self, url: str, *, prefix: str, ttl_seconds: float) -> None:
        self.url = url
        self.prefix = f"{prefix}:presence"
        self.index_key = f"{self.prefix}:expiries"
        self.ttl_seconds = ttl_seconds
        self.lifetime_ms = max(1, int(ttl_seconds * 800))  # 4/5 of the TTL
        self.interval_seconds = ttl_seconds / 5
        self._local: dict[str, str] = {}  # sid -> user id, the sockets of this process
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = weakref.WeakKeyDictionary()

    def user_key(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}"

    @staticmethod
    def _member(user_id: str, sid: str) -> str:
        return f"{user_id} {sid}"

    def _client(self) -> _Client:
        """One Redis client per event loop (asyncio connections cannot cross loops)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = _Client(self.url)
            self._clients[loop] = client
            _close_with_loop(loop, client)
        return client

    async def connect(self, user_id: str, sid: str) -> bool:
        self._local[sid] = user_id
        return await self._touch(self._client(), user_id, sid)

    async def _touch(self, client: _Client, user_id: str, sid: str) -> bool:
        result = await client.touch(
            keys=[self.user_key(user_id), self.index_key],
            args=[sid, self._member(user_id, sid), self.lifetime_ms, self.lifetime_ms * 3],
        )
        return bool(int(result))

    async def disconnect(self, user_id: str, sid: str) -> bool:
        self._local.pop(sid, None)
        result = await self._client().leave(
            keys=[self.user_key(user_id), self.index_key], args=[sid, self._member(user_id, sid)]
        )
        return bool(int(result))

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return set()
        return await self._client().online_of(ids, self.user_key)

    async def refresh_local(self) -> list[str]:
        local = list(self._local.items())
        if not local:
            return []
        client = self._client()
        async with client.redis.pipeline(transaction=False) as pipe:
            for sid, user_id in local:
                await client.touch(
                    keys=[self.user_key(user_id), self.index_key],
                    args=[sid, self._member(user_id, sid), self.lifetime_ms, self.lifetime_ms * 3],
                    client=pipe,
                )
            results = await pipe.execute()
        back: list[str] = []
        for (sid, user_id), came in zip(local, results, strict=True):
            if sid in self._local:
                if int(came):
                    back.append(user_id)
            else:
                # Disconnected while the refresh was in flight: undo the refresh, announce nothing
                # (the disconnect already did).
                await client.leave(
                    keys=[self.user_key(user_id), self.index_key], args=[sid, self._member(user_id, sid)]
                )
        return list(dict.fromkeys(back))

    async def sweep(self) -> list[str]:
        client = self._client()
        gone: list[str] = []
        while True:
            batch = await client.sweep(keys=[self.index_key], args=[f"{self.prefix}:user:", self.sweep_batch])
            gone.extend(_text(uid) for uid in batch)
            if len(batch) < self.sweep_batch:
                break
        return list(dict.fromkeys(gone))

    def forget_local(self) -> None:
        """Stop refreshing every socket of this process (tests simulate a dead worker with it)."""
        self._local.clear()

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


def _close_with_loop(loop: asyncio.AbstractEventLoop, client: _Client) -> None:
    """Close the client's connections when its loop closes (short-lived loops: tests, async_to_sync)."""
    original = loop.close

    def close() -> None:
        if not loop.is_running() and not loop.is_closed():
            with contextlib.suppress(Exception):
                loop.run_until_complete(client.aclose())
        original()

    loop.close = close  # type: ignore[method-assign]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Client:
    MAX_LOOKUPS_PER_CALL = 256

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.Redis.from_url(url)
        self.touch = self.redis.register_script(_TOUCH)
        self.leave = self.redis.register_script(_LEAVE)
        self.sweep = self.redis.register_script(_SWEEP)
        self.online = self.redis.register_script(_ONLINE)
        self._lookups: list[tuple[list[str], asyncio.Future[set[str]]]] = []
        self._lookup_task: asyncio.Task[None] | None = None

    async def online_of(self, user_ids: list[str], key: Callable[[str], str]) -> set[str]:
        """The online subset of ``user_ids``. Lookups made while one is on its way to Redis go
        together in the next script call (a busy worker asks Redis once per round trip, not once
        per ``user:check-status``)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[set[str]] = loop.create_future()
        self._lookups.append((user_ids, future))
        if self._lookup_task is None or self._lookup_task.done():
            self._lookup_task = loop.create_task(self._look_up(key), name="presence-lookups")
        return await future

    async def _look_up(self, key: Callable[[str], str]) -> None:
        while self._lookups:
            batch = self._lookups[: self.MAX_LOOKUPS_PER_CALL]
            del self._lookups[: self.MAX_LOOKUPS_PER_CALL]
            ids = list(dict.fromkeys(uid for wanted, _ in batch for uid in wanted))
            try:
                flags = await self.online(keys=[key(uid) for uid in ids], args=[])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            present = {uid for uid, flag in zip(ids, flags, strict=True) if int(flag)}
            for wanted, future in batch:
                if not future.done():
                    future.set_result({uid for uid in wanted if uid in present})

    async def aclose(self) -> None:
        await self.redis.aclose()


_store: PresenceStore | None = None
_store_lock = threading.Lock()


def get_presence_store() -> PresenceStore:
    """The process-wide store, chosen from the settings on first use."""
    global _store
    with _store_lock:
        if _store is None:
            if settings.REDIS_URL:
                layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
                prefix = str((layer.get("CONFIG") or {}).get("prefix", "retrochat"))
                _store = RedisPresenceStore(settings.REDIS_URL, prefix=prefix, ttl_seconds=presence_ttl_seconds())
            else:
                _store = MemoryPresenceStore()
        return _store


def set_presence_store(store: PresenceStore | None) -> None:
    """Replace the process-wide store (None: choose again from the settings on next use)."""
    global _store
    with _store_lock:
        _store = store
