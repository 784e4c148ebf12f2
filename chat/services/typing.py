"""Typing indicators: ``user:typing`` ``{toUserId}`` → ``user:typing`` ``{fromUserId}`` to the friend.

Nothing is stored, so nothing waits for a commit: the indicator is forwarded at once to every
socket of the recipient, if the recipient is a friend. Each sender may send at most
`TYPING_MAX_EVENTS` indicators per `TYPING_WINDOW_SECONDS` (counted per worker process); extra
ones are dropped silently — the frontend re-sends one every 3 s at most, so only scripts hit it.
"""

from __future__ import annotations

import threading
import time

from channels.db import database_sync_to_async

from chat.selectors.friends import are_friends
from chat.services.messages import NOT_FRIENDS
from retrochat.errors import Forbidden
from retrochat.observability import metrics
from retrochat.realtime.broadcast import emit_to_users

TYPING_MAX_EVENTS = 20
TYPING_WINDOW_SECONDS = 10.0


class WindowLimiter:
    """Fixed-window counter per key (in-process)."""

    def __init__(self, max_events: int, window_seconds: float, *, max_keys: int = 100_000) -> None:
        self.max_events = max_events
        self.window = window_seconds
        self.max_keys = max_keys
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.max_events:
                return False
            if len(self._counts) >= self.max_keys and key not in self._counts:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            self._counts[key] = (start, count + 1)
            return True

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


typing_limiter = WindowLimiter(TYPING_MAX_EVENTS, TYPING_WINDOW_SECONDS)


async def typing_notify(*, user_id: str, to_user_id: str) -> bool:
    """Forward a typing indicator; False when it was dropped by the rate limit. Non-friends: 403."""
    if not typing_limiter.allow(user_id):
        metrics.rate_limited("typing")
        return False
    if not await database_sync_to_async(are_friends)(user_id=user_id, other_id=to_user_id):
        raise Forbidden(NOT_FRIENDS)
    await emit_to_users("user:typing", {"fromUserId": user_id}, user_ids=[to_user_id])
    return True
