"""The event loop a worker runs on: uvloop when it is installed (it is a runtime dependency).

Daphne runs Twisted on an asyncio loop that it creates when ``daphne.server`` is first imported,
so `install` must run before that import (`retrochat.serve` does it first thing). On uvloop the
loop's own work per read, write and wake-up is C code: measured here, one worker delivers ≈ 20 %
more messages per second and fans group messages out ≈ 10 % faster (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio


def install() -> str:
    """Make new event loops uvloop loops if uvloop can be imported; the loop kind in use."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in requirements.txt; asyncio still works
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
