"""Test-only Socket.IO handlers (``e2e:*``), loaded by the e2e server (`tests.e2e.asgi`) only.

They exercise the engine's handler API without any RetroChat feature: acks, errors, server
emits, server→client calls, rooms, fan-out through the channel layer, binary payloads, ordering,
sign-out, transport drops.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async

from retrochat.errors import BadRequest
from retrochat.realtime.broadcast import emit_to_room, emit_to_users
from retrochat.realtime.router import events
from retrochat.realtime.types import Socket


@events.on("e2e:echo")
async def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
    """Emits ``e2e:echoed`` with the same arguments and acks them too."""
    await socket.emit("e2e:echoed", *args)
    return args


@events.on("e2e:whoami")
async def whoami(socket: Socket, *args: Any) -> dict[str, Any]:
    return {"userId": socket.user_id, "sid": socket.sid, "authSessionId": socket.auth_session_id}


@events.on("e2e:emit-to-users")
async def emit_users(socket: Socket, payload: dict[str, Any]) -> str:
    """``{userIds, event, data, excludeSelf}`` → emitted through the channel layer (every worker)."""
    exclude = socket.sid if payload.get("excludeSelf") else None
    await emit_to_users(payload["event"], payload.get("data"), user_ids=payload["userIds"], exclude_sid=exclude)
    return "sent"


@events.on("e2e:join")
async def join(socket: Socket, room: str) -> bool:
    await socket.join(room)
    return True


@events.on("e2e:leave")
async def leave(socket: Socket, room: str) -> bool:
    await socket.leave(room)
    return True


@events.on("e2e:emit-to-room")
async def emit_room(socket: Socket, payload: dict[str, Any]) -> str:
    await emit_to_room(payload["room"], payload["event"], payload.get("data"))
    return "sent"


@events.on("e2e:domain-error", error_event="e2e:error")
async def domain_error(socket: Socket, *args: Any) -> None:
    raise BadRequest("Nope, not that")


@events.on("e2e:crash", error_event="e2e:error", failure_message="Failed to crash politely")
async def crash(socket: Socket, *args: Any) -> None:
    raise RuntimeError("boom")


@events.on("e2e:call")
async def call(socket: Socket, payload: Any = None) -> dict[str, Any]:
    """Asks the client (``e2e:question`` with an ack) and returns its answer (``timeout`` in the payload)."""
    timeout = float(payload.get("timeout", 3)) if isinstance(payload, dict) else 3.0
    try:
        answer = await socket.call("e2e:question", payload, timeout=timeout)
    except TimeoutError:
        return {"timeout": True}
    return {"answer": answer}


@events.on("e2e:binary")
async def binary(socket: Socket, data: Any = None) -> dict[str, Any]:
    await socket.emit("e2e:binary-back", {"got": data, "extra": b"\x00\x01\xfe\xff"})
    return {"got": data, "size": len(data) if isinstance(data, bytes) else None}


@events.on("e2e:order")
async def order(socket: Socket, n: int) -> list[int]:
    """Records arrival order; earlier events sleep longer, so only sequential handling keeps order."""
    await asyncio.sleep(max(0, 10 - int(n)) * 0.005)
    seen: list[int] = socket.state.setdefault("order", [])
    seen.append(int(n))
    return list(seen)


@events.on("e2e:unlimited", rate_limited=False)
async def unlimited(socket: Socket, n: Any = None) -> Any:
    return n


@events.on("e2e:sign-out")
async def sign_out(socket: Socket, *args: Any) -> str:
    """Revokes this socket's auth session through the service (sockets of that session close)."""
    from chat.models import AuthSession
    from chat.services.auth import session_revoke

    def revoke() -> None:
        session = AuthSession.objects.filter(pk=socket.auth_session_id).first()
        if session is not None:
            session_revoke(session=session)

    await database_sync_to_async(revoke)()
    return "revoked"


@events.on("e2e:drop-transport")
async def drop_transport(socket: Socket, *args: Any) -> None:
    """Closes the Engine.IO transport abruptly (like a network drop): the client should reconnect."""
    session = socket.connection.session  # type: ignore[attr-defined]
    asyncio.get_running_loop().call_later(0.05, session.close, "transport close")


@events.on("e2e:sleep", rate_limited=False)
async def sleep(socket: Socket, seconds: Any = 0.5) -> str:
    """Holds this socket's queue for ``seconds``: an in-flight handler call (graceful shutdown tests)."""
    await asyncio.sleep(float(seconds))
    return "slept"


@events.on("e2e:spawn-ticker")
async def spawn_ticker(socket: Socket, *args: Any) -> str:
    async def ticker() -> None:
        n = 0
        while True:
            await socket.emit("e2e:tick", n)
            n += 1
            await asyncio.sleep(0.05)

    socket.spawn(ticker(), name="e2e ticker")
    return "started"
