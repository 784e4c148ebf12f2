"""Channel-layer group names: who receives a published event (shared by the publisher and the hub)."""

from __future__ import annotations

import re

WORKERS_GROUP = "rt.workers"
"""Every worker's hub: events for several users, disconnects, batches, stats requests."""

_ROOM_NAME = re.compile(r"^[A-Za-z0-9._-]{1,90}$")


def room_group(room: str) -> str:
    """Layer group of every worker holding a socket that joined ``room``."""
    if not _ROOM_NAME.match(room):
        raise ValueError(f"invalid room name {room!r}")
    return f"rt.{room}"


def user_group(user_id: str) -> str:
    """Layer group of every worker that holds a socket of ``user_id``."""
    return room_group(f"user.{user_id}")
