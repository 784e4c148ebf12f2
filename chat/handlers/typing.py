"""Socket.IO handlers: typing."""

from __future__ import annotations
