"""Draining a worker before it stops (graceful shutdown, see `retrochat.serve`).

`drain` runs on the worker's event loop, bounded by a deadline:

1. **Stop taking work.** `draining()` becomes true: new Engine.IO handshakes are refused (polling
   503, WebSocket refused) so clients and the proxy go to another worker; events that arrive on
   existing connections are not run but answered at once with the ack error
   ``{"code": "unavailable", "message": "Server is restarting. Please try again."}`` (and the
   handler's error event), so every event gets exactly one ack; CONNECTs are ignored (the
   connection closes right after).
2. **Finish in-flight handler calls.** Every socket's queue is worked off; their acks are queued
   on the transport.
3. **Tell clients to reconnect elsewhere.** Every Engine.IO session is closed from the server
   side *without* a Socket.IO DISCONNECT: the WebSocket is closed after what is queued (the
   client sees ``transport close``), a polling client gets what is queued plus the Engine.IO
   CLOSE packet on its next GET. socket.io-client reconnects on both, through the proxy, to a
   worker that is still accepting.
4. **Let the sockets end.** Disconnect hooks run (presence entries are removed, friends are told
   who went offline), tasks the sockets spawned (AI streams) are cancelled and unwind, polling
   sessions are fetched one last time.

What is left when the deadline passes is reported (`DrainReport`) for the caller to force.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from retrochat.errors import DomainError
from retrochat.realtime.session import HandshakeError, sessions

logger = logging.getLogger("retrochat.realtime.drain")

REASON = "server shutting down"
"""The disconnect reason the disconnect hooks see."""

_draining = False


class ShuttingDown(DomainError):
    """What an event that arrives while the worker drains is answered with."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str = "Server is restarting. Please try again.") -> None:
        super().__init__(message)


def draining() -> bool:
    """True once this worker stopped taking new connections and events."""
    return _draining


def refuse_new_session() -> HandshakeError:
    return HandshakeError(503, 6, "Server is shutting down")


def reset() -> None:
    """Back to normal (tests)."""
    global _draining
    _draining = False


@dataclass
class DrainReport:
    sessions: int = 0
    sockets: int = 0
    timed_out: bool = False
    leftover: list[Any] = field(default_factory=list)
    """Sockets whose handler or disconnect hooks had not finished at the deadline."""


def _sockets() -> list[Any]:
    from retrochat.realtime.server import Connection

    found: list[Any] = []
    for session in sessions():
        if isinstance(session.data, Connection):
            found.extend(session.data.sockets.values())
    return found


async def _until(condition: Callable[[], bool], deadline: float, step: float = 0.01) -> bool:
    loop = asyncio.get_running_loop()
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


async def _tasks_done(get_tasks: Callable[[], Iterable[asyncio.Task[Any]]], deadline: float) -> bool:
    loop = asyncio.get_running_loop()
    while True:
        tasks = [task for task in get_tasks() if not task.done()]
        if not tasks:
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.wait(tasks, timeout=remaining)


async def drain(*, timeout: float) -> DrainReport:
    """Stop taking work, finish it, close every connection; at most ``timeout`` seconds."""
    global _draining
    _draining = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    report = DrainReport(sessions=len(sessions()))

    # 2. in-flight handler calls (new events are refused from now on, so queues only shrink)
    busy = await _tasks_done(lambda: [t for s in _sockets() for t in s.busy_tasks()], deadline)

    # 3. tell every client to reconnect elsewhere
    sockets = _sockets()
    report.sockets = len(sockets)
    for session in sessions():
        session.close_gracefully(REASON)

    # 4. disconnect hooks, spawned tasks, last polling GETs
    ended = await _tasks_done(lambda: [t for s in sockets for t in s.pending_tasks()], deadline)
    fetched = await _until(lambda: not sessions(), deadline)
    report.timed_out = not (busy and ended and fetched)
    if report.timed_out:
        report.leftover = [s for s in sockets if any(not t.done() for t in s.pending_tasks())]
        for session in sessions():
            session.close(REASON)
    logger.info(
        "drained %d session(s) with %d socket(s)%s",
        report.sessions,
        report.sockets,
        " (deadline reached)" if report.timed_out else "",
    )
    return report
