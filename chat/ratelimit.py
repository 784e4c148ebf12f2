"""Fixed-window request counters in the Django cache (Redis when configured, so workers share them).

Used by the auth endpoints: sign-in and sign-up are limited per client IP and endpoint, and per
e-mail address (every sign-up attempt, every *failed* sign-in), whether or not the address belongs
to an account — a 429 tells nothing about which addresses exist. Limits come from
``AUTH_RATE_LIMIT_IP`` / ``AUTH_RATE_LIMIT_ACCOUNT`` (``"<requests>/<seconds>"``) and
``AUTH_RATE_LIMIT=0`` turns them off.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from retrochat.errors import RateLimited
from retrochat.observability import metrics


@dataclass(frozen=True)
class Limit:
    scope: str
    requests: int
    seconds: int

    def _key(self, identity: str, now: float) -> tuple[str, float]:
        window = int(now // self.seconds)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        return f"rl:{self.scope}:{digest}:{window}", (window + 1) * self.seconds - now

    def hit(self, identity: str) -> None:
        """Count one request; raise `RateLimited` once the window's budget is spent."""
        if not settings.AUTH_RATE_LIMIT_ENABLED:
            return
        now = time.time()
        key, remaining = self._key(identity, now)
        cache.add(key, 0, timeout=self.seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=self.seconds + 1)
            count = 1
        if count > self.requests:
            metrics.rate_limited(self.metric_label)
            raise RateLimited(retry_after=max(1, math.ceil(remaining)))

    def check(self, identity: str) -> None:
        """Raise `RateLimited` if the budget is spent, without counting this request."""
        if not settings.AUTH_RATE_LIMIT_ENABLED:
            return
        key, remaining = self._key(identity, time.time())
        if (cache.get(key) or 0) >= self.requests:
            metrics.rate_limited(self.metric_label)
            raise RateLimited(retry_after=max(1, math.ceil(remaining)))

    @property
    def metric_label(self) -> str:
        """``auth_ip`` or ``auth_account`` (the ``limiter`` label of the rate-limit metric)."""
        return f"auth_{self.scope.partition(':')[0]}"


def per_ip(endpoint: str) -> Limit:
    requests, seconds = settings.AUTH_RATE_LIMIT_IP
    return Limit(f"ip:{endpoint}", requests, seconds)


def per_account(endpoint: str) -> Limit:
    requests, seconds = settings.AUTH_RATE_LIMIT_ACCOUNT
    return Limit(f"account:{endpoint}", requests, seconds)
