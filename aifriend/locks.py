"""In-process mutual exclusion per key (one style-profile update per profile at a time).

Across processes the database row lock in `aifriend.services` does the same job; this lock makes
the rule hold on SQLite too (where row locks do not exist) and spares the database the contention
when one process gets many triggers for the same profile.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: Hashable, *, wait: bool, timeout: float = 30.0) -> Iterator[bool]:
        """Yield True while holding the lock for ``key``; False if not acquired (busy and not waiting)."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        acquired = lock.acquire(timeout=timeout) if wait else lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def busy(self, key: Hashable) -> bool:
        with self._guard:
            entry = self._locks.get(key)
        return entry is not None and entry[0].locked()
