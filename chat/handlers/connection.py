"""Socket.IO handlers: connection."""

from __future__ import annotations
