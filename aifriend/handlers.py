"""Socket.IO handlers: the AI friend and the group AI."""

from __future__ import annotations
