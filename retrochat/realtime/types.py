"""What a socket handler may rely on: the engine's concrete socket satisfies this protocol.

Apps type their handlers against `Socket`; they never touch Engine.IO sessions or transports.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Handshake:
    """What the client sent when it opened the connection (first HTTP request or WS upgrade)."""

    headers: Mapping[str, str]  # lower-case names
    cookies: Mapping[str, str]
    query: Mapping[str, str]
    client_ip: str | None = None
    origin: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Socket(Protocol):
    """One Socket.IO socket (one namespace on one Engine.IO connection)."""

    sid: str
    namespace: str
    handshake: Handshake
    user_id: str | None
    auth_session_id: str | None
    state: dict[str, Any]

    @property
    def connected(self) -> bool: ...

    async def emit(self, event: str, *args: Any) -> None:
        """Send an event to this socket only."""

    async def call(self, event: str, *args: Any, timeout: float = 10.0) -> Any:
        """Emit with an ack id and wait for the client's ack arguments (TimeoutError after timeout)."""

    async def join(self, room: str) -> None:
        """Receive events sent to ``room`` (on every worker) until `leave` or disconnect."""

    async def leave(self, room: str) -> None: ...

    async def disconnect(self, reason: str = "server namespace disconnect") -> None:
        """Send DISCONNECT for this namespace and forget the socket."""

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> Any:
        """Run ``coro`` as a task owned by this socket: cancelled when the socket goes away."""
