"""What a log line knows about where it comes from, held in context variables.

- HTTP: `RequestMiddleware` sets ``request_id`` (and the API's session auth ``user_id``);
- realtime: each socket's worker task sets ``current_socket`` (connection id = Engine.IO sid,
  socket id, user id read when the line is written, so it is there once the socket is
  authenticated); tasks a socket spawns inherit it;
- transports may set ``connection_id`` for lines written before there is a socket.

Context variables follow asyncio tasks and `sync_to_async` threads, so nothing is passed around.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol


class SocketLike(Protocol):
    sid: str
    user_id: str | None

    @property
    def engine_sid(self) -> str: ...


request_id: ContextVar[str | None] = ContextVar("retrochat_request_id", default=None)
user_id: ContextVar[str | None] = ContextVar("retrochat_user_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("retrochat_connection_id", default=None)
current_socket: ContextVar[SocketLike | None] = ContextVar("retrochat_socket", default=None)


def bind_user(uid: str | None) -> None:
    """The authenticated user of the current request (log lines written from now on carry it)."""
    user_id.set(uid)


def log_context() -> dict[str, str]:
    """``request_id`` / ``connection_id`` / ``socket_id`` / ``user_id``, whichever are known."""
    out: dict[str, str] = {}
    rid = request_id.get()
    if rid:
        out["request_id"] = rid
    socket = current_socket.get()
    if socket is not None:
        out["connection_id"] = socket.engine_sid
        out["socket_id"] = socket.sid
        if socket.user_id:
            out["user_id"] = socket.user_id
    else:
        cid = connection_id.get()
        if cid:
            out["connection_id"] = cid
    if "user_id" not in out:
        uid = user_id.get()
        if uid:
            out["user_id"] = uid
    return out
