"""The handler API that apps use to plug into the realtime engine.

Apps register coroutines by *event name*; the dispatcher looks names up in a dict, so an event
name sent by a client can never resolve to a Python attribute. Example (``chat/handlers.py``)::

    from retrochat.realtime.router import events

    @events.on("message:send")
    async def message_send(socket: Socket, payload: object) -> object:
        ...  # validate → one service call → return the ack value

A handler's return value becomes the ack (a tuple means several ack arguments, ``None`` means an
empty ack). A raised `retrochat.errors.DomainError` becomes the ack ``{"error": {...}}`` and, if
the handler was registered with ``error_event=``, that event is emitted to the socket as well;
the connection stays open. Anything else raised is logged and answered like a DomainError with
code ``internal``.

A socket runs its events one after the other, in arrival order. A handler registered with
``pipelined=True`` is a plain function that checks its input and *queues* its work, returning an
awaitable of the ack value (e.g. ``return batcher.submit_nowait(request)``): the socket calls it in
order and goes on with the next event while the work is pending, so a client that sends many
messages without waiting gets them stored in its order yet sharing database rounds. Acks are
still sent when each result is ready; an ordinary handler waits until every earlier event of
its socket has been answered, so it never overtakes a queued send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from retrochat.realtime.types import Socket

EventHandler = Callable[..., Awaitable[Any]]
"""``async def handler(socket: Socket, *args) -> ack value`` (``pipelined``: a plain function
returning an awaitable of the ack value)."""

ConnectHandler = Callable[["Socket", Any], Awaitable[None]]
"""``async def on_connect(socket, auth_payload)``; raise `ConnectionRefused` to refuse."""

DisconnectHandler = Callable[["Socket", str], Awaitable[None]]
"""``async def on_disconnect(socket, reason)``."""

H = TypeVar("H", bound=EventHandler)


class ConnectionRefused(Exception):
    """Raised by a connect hook: the client gets CONNECT_ERROR ``{"message": message}``."""

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Registration:
    handler: EventHandler
    error_event: str | None = None
    rate_limited: bool = True
    failure_message: str | None = None
    """What the client is told when the handler fails unexpectedly (default: "Failed to process <event>")."""
    pipelined: bool = False


@dataclass
class EventRouter:
    """Handlers of one Socket.IO namespace."""

    namespace: str = "/"
    handlers: dict[str, Registration] = field(default_factory=dict)
    connect_hooks: list[ConnectHandler] = field(default_factory=list)
    disconnect_hooks: list[DisconnectHandler] = field(default_factory=list)

    def on(
        self,
        event: str,
        *,
        error_event: str | None = None,
        rate_limited: bool = True,
        failure_message: str | None = None,
        pipelined: bool = False,
    ) -> Callable[[H], H]:
        """Register ``handler`` for ``event``; ``error_event`` is emitted with ``{"error": message}`` on refusal.

        ``rate_limited=False`` exempts the event from the per-connection event rate limit;
        ``failure_message`` is the text sent (ack error and ``error_event``) when the handler raises
        something other than a `DomainError`, e.g. ``"Failed to send message"``; ``pipelined``: see
        the module docstring.
        """

        def register(handler: H) -> H:
            if event in self.handlers:
                raise ValueError(f"event {event!r} already has a handler in namespace {self.namespace!r}")
            self.handlers[event] = Registration(handler, error_event, rate_limited, failure_message, pipelined)
            return handler

        return register

    def on_connect(self, hook: ConnectHandler) -> ConnectHandler:
        self.connect_hooks.append(hook)
        return hook

    def on_disconnect(self, hook: DisconnectHandler) -> DisconnectHandler:
        self.disconnect_hooks.append(hook)
        return hook

    def lookup(self, event: str) -> Registration | None:
        return self.handlers.get(event)


events = EventRouter("/")
"""RetroChat's default namespace. Apps import this and register in their ``handlers.py``."""
