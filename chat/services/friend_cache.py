"""This worker's cache of friend-id sets, so ``user:check-status`` and the friendship check of a
round of direct messages (`chat.services.message_batch`) need no database query.

An entry is loaded when a socket connects (presence already reads the user's friends then) or on
the first miss, and lives at most `FRIEND_CACHE_TTL_SECONDS` (default 10 s). It is dropped at
once when a friendship of its user changes:

- on the worker that ran the change: the friendship services call `friend_ids_changed_on_commit`
  (after COMMIT, before the events are published);
- on every worker: `friend:removed` / `friend:accepted` events are observed by the hub before
  they are written to the users' sockets (`chat.handlers.presence` registers the observer), so
  a socket that has been told of the change is never answered from the old set.

Loads race with invalidations safely: every invalidation bumps an epoch, and a load that started
before a bump is not stored (the next request reads the database again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterable

from django.conf import settings
from django.db import transaction

DEFAULT_TTL_SECONDS = 10.0
_MAX_ENTRIES = 100_000

Loader = Callable[[str], Awaitable[list[str]]]


def ttl_seconds() -> float:
    return float(getattr(settings, "FRIEND_CACHE_TTL_SECONDS", DEFAULT_TTL_SECONDS))


class FriendCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def epoch(self) -> int:
        return self._epoch

    def get(self, user_id: str) -> frozenset[str] | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        expires, friends = entry
        if expires <= time.monotonic():
            with self._lock:
                if self._entries.get(user_id) is entry:
                    del self._entries[user_id]
            return None
        return friends

    def put(self, user_id: str, friends: Iterable[str], *, epoch: int) -> bool:
        """Store a set read from the database when the epoch was ``epoch``; False if it changed since."""
        ttl = ttl_seconds()
        if ttl <= 0:
            return False
        value = frozenset(friends)
        with self._lock:
            if self._epoch != epoch:
                return False
            if len(self._entries) >= _MAX_ENTRIES:
                self._prune()
            self._entries[user_id] = (time.monotonic() + ttl, value)
            return True

    def invalidate(self, user_ids: Iterable[str]) -> None:
        with self._lock:
            self._epoch += 1
            for user_id in user_ids:
                self._entries.pop(user_id, None)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def _prune(self) -> None:
        now = time.monotonic()
        for user_id in [uid for uid, (expires, _f) in self._entries.items() if expires <= now]:
            del self._entries[user_id]
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()

    def friend_sets(
        self, user_ids: Iterable[str], load_many: Callable[[list[str]], dict[str, list[str]]], *, fresh: bool = False
    ) -> dict[str, frozenset[str]]:
        """Synchronous `friends_of` for several users: the cached sets, and the missing ones read
        with ONE ``load_many(user_ids)`` (stored unless invalidated meanwhile); ``fresh`` reads
        them all."""
        sets: dict[str, frozenset[str]] = {}
        missing: list[str] = []
        for user_id in dict.fromkeys(user_ids):
            cached = None if fresh else self.get(user_id)
            if cached is None:
                missing.append(user_id)
            else:
                sets[user_id] = cached
        if missing:
            epoch = self._epoch
            loaded = load_many(missing)
            for user_id in missing:
                sets[user_id] = frozenset(loaded.get(user_id, ()))
                self.put(user_id, sets[user_id], epoch=epoch)
        return sets

    async def friends_of(self, user_id: str, load: Loader) -> frozenset[str]:
        """The cached set, or ``await load(user_id)`` (stored unless invalidated meanwhile)."""
        cached = self.get(user_id)
        if cached is not None:
            return cached
        epoch = self._epoch
        friends = frozenset(await load(user_id))
        self.put(user_id, friends, epoch=epoch)
        return friends


friend_cache = FriendCache()

FRIENDSHIP_EVENTS = ("friend:removed", "friend:accepted")
"""Events published to users whose friend list just changed (their cached sets are dropped)."""


def friend_ids_changed_on_commit(user_ids: Iterable[str]) -> None:
    """From a friendship service: drop these users' cached sets in this worker after COMMIT.

    Registered before the service's `broadcast_on_commit` calls, so it runs before the events go out.
    """
    users = list(user_ids)
    transaction.on_commit(lambda: friend_cache.invalidate(users))
