"""Socket.IO handlers: groups."""

from __future__ import annotations
