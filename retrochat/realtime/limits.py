"""Every number the realtime engine enforces, in one place.

Values come from Django settings where a setting exists (``REALTIME_*``, see
`retrochat/settings.py`), else from the defaults below. Conformance mode
(``REALTIME_CONFORMANCE``) pins the heartbeat to what the official test suites expect
(300 ms / 200 ms, 1 MB payloads) and turns the per-connection event rate limit off.

The engine reads `current()` once per Engine.IO session (the value is cached and recomputed when
a test changes settings with `override_settings`), so changes apply to sessions opened later.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True, slots=True)
class Limits:
    # Engine.IO heartbeat (announced in the OPEN packet) and payload size.
    ping_interval_ms: int = 25_000
    ping_timeout_ms: int = 20_000
    max_payload: int = 1_000_000
    """Largest WebSocket frame or polling POST body, in bytes; larger closes the session."""
    max_packets_per_payload: int = 1_000
    """Engine.IO packets in one polling POST."""

    # Socket.IO packet shape.
    max_ack_id_digits: int = 10
    max_attachments: int = 16
    """Binary attachments of one BINARY_EVENT / BINARY_ACK."""

    # Per-connection event rate (token bucket shared by every namespace of one connection).
    events_per_second: float = 20.0
    event_burst: int = 50
    rate_abuse_limit: int = 100
    """Refused events (decaying at ``events_per_second``) that get the connection closed."""
    max_pending_events: int = 1_000
    """Events queued for one socket's handlers; more closes the connection."""

    max_sockets_per_user: int = 32
    """Sockets one user may hold on one worker."""

    # Timeouts.
    connect_timeout_ms: int = 45_000
    """A connection that has no namespace connected after this long is closed."""
    upgrade_timeout_ms: int = 10_000
    """A WebSocket probe that does not complete the upgrade in time is closed."""
    post_settle_ms: int = 5_000
    """How long a polling POST waits for the handlers of its events before answering ``ok``."""
    close_linger_ms: int = 5_000
    """How long a server-closed polling session waits for the GET that fetches its CLOSE packet."""
    call_timeout_s: float = 10.0
    """Default timeout of `Socket.call` (a server emit that waits for the client's ack)."""

    # Fan-out.
    group_refresh_s: float = 3_600.0
    """How often the worker hub re-adds its channel-layer group memberships (they expire)."""

    @property
    def ping_interval(self) -> float:
        return self.ping_interval_ms / 1000

    @property
    def ping_timeout(self) -> float:
        return self.ping_timeout_ms / 1000

    @property
    def rate_limited(self) -> bool:
        return self.events_per_second > 0


CONFORMANCE_OVERRIDES: dict[str, Any] = {
    "ping_interval_ms": 300,
    "ping_timeout_ms": 200,
    "max_payload": 1_000_000,
    "events_per_second": 0.0,
}

_SETTINGS: dict[str, str] = {
    "ping_interval_ms": "REALTIME_PING_INTERVAL_MS",
    "ping_timeout_ms": "REALTIME_PING_TIMEOUT_MS",
    "max_payload": "REALTIME_MAX_PAYLOAD",
    "max_packets_per_payload": "REALTIME_MAX_PACKETS_PER_PAYLOAD",
    "max_ack_id_digits": "REALTIME_MAX_ACK_ID_DIGITS",
    "max_attachments": "REALTIME_MAX_ATTACHMENTS",
    "events_per_second": "REALTIME_EVENTS_PER_SECOND",
    "event_burst": "REALTIME_EVENT_BURST",
    "rate_abuse_limit": "REALTIME_RATE_ABUSE_LIMIT",
    "max_pending_events": "REALTIME_MAX_PENDING_EVENTS",
    "max_sockets_per_user": "REALTIME_MAX_SOCKETS_PER_USER",
    "connect_timeout_ms": "REALTIME_CONNECT_TIMEOUT_MS",
    "upgrade_timeout_ms": "REALTIME_UPGRADE_TIMEOUT_MS",
    "post_settle_ms": "REALTIME_POST_SETTLE_MS",
    "close_linger_ms": "REALTIME_CLOSE_LINGER_MS",
    "call_timeout_s": "REALTIME_CALL_TIMEOUT_S",
    "group_refresh_s": "REALTIME_GROUP_REFRESH_S",
}


def conformance_mode() -> bool:
    return bool(getattr(settings, "REALTIME_CONFORMANCE", False))


@lru_cache(maxsize=1)
def current() -> Limits:
    """The limits in force now (settings first, then defaults; conformance pins the heartbeat)."""
    values: dict[str, Any] = {}
    for field_name, setting_name in _SETTINGS.items():
        value = getattr(settings, setting_name, None)
        if value is not None:
            values[field_name] = value
    limits = Limits(**values)
    if conformance_mode():
        limits = replace(limits, **CONFORMANCE_OVERRIDES)
    return limits


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("REALTIME_"):
        current.cache_clear()
