"""What both transports share: reading the handshake and checking the Engine.IO query."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.http.cookie import parse_cookie

from retrochat.observability.context import connection_id
from retrochat.realtime.drain import draining, refuse_new_session
from retrochat.realtime.session import HandshakeError, unknown_transport, unsupported_version
from retrochat.realtime.types import Handshake

logger = logging.getLogger("retrochat.realtime")

NO_LAYER = "retrochat.realtime.no-layer"
"""A channel-layer alias that is never configured: consumers get no channel of their own."""

TRANSPORTS = frozenset({"polling", "websocket"})


def handshake_from_scope(scope: Mapping[str, Any]) -> Handshake:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or ():
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            headers[name] = f"{headers[name]}{'; ' if name == 'cookie' else ', '}{value}"
        else:
            headers[name] = value
    query: dict[str, str] = {}
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        query.setdefault(key, value)
    client = scope.get("client")
    if query.get("sid"):
        connection_id.set(query["sid"])  # log lines written while serving this request name the connection
    return Handshake(
        headers=headers,
        cookies=parse_cookie(headers.get("cookie", "")),
        query=query,
        client_ip=client[0] if client else None,
        origin=headers.get("origin"),
    )


def check_query(query: Mapping[str, str]) -> str:
    """The requested transport; raises `HandshakeError` for a bad ``transport`` or ``EIO``, and for a
    new session while the worker drains (503, see `retrochat.realtime.drain`)."""
    transport = query.get("transport")
    if transport not in TRANSPORTS:
        raise unknown_transport()
    if query.get("EIO") != "4":
        raise unsupported_version()
    if not query.get("sid") and draining():
        raise refuse_new_session()  # this worker is shutting down: the client goes to another one
    return transport


def log_refusal(error: HandshakeError | str, handshake: Handshake) -> None:
    reason = error.message if isinstance(error, HandshakeError) else error
    logger.info("Connection error: %s (client %s)", reason, handshake.client_ip)


class DirectConsumer(AsyncConsumer):  # type: ignore[misc]
    """A Channels consumer with a direct receive loop instead of the generic one: no channel-layer
    channel, no task per message, no database-connection cleanup per message (transports never
    touch the database). Each message is handled as soon as the server queues it."""

    channel_layer_alias = NO_LAYER

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        raise NotImplementedError
