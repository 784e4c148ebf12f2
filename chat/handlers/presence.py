"""Socket.IO handlers: presence."""

from __future__ import annotations
