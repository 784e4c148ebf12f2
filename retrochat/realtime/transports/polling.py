"""HTTP long-polling transport (GET fetches, POST sends), as a Channels consumer.

One consumer instance serves one HTTP request. The body is collected (and dropped past
``maxPayload``), then the request is served in a task so that the consumer keeps listening for
``http.disconnect``: a client that goes away while its GET is pending closes the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.exceptions import StopConsumer

from retrochat.realtime import limits as limits_module
from retrochat.realtime.eio import CodecError, decode_payload, encode_payload
from retrochat.realtime.origin import cors_headers, origin_allowed, preflight_headers
from retrochat.realtime.session import (
    EngineApp,
    EngineSession,
    HandshakeError,
    State,
    bad_handshake_method,
    bad_request,
    forbidden,
    lookup,
    unknown_sid,
)
from retrochat.realtime.transports.common import DirectConsumer, check_query, handshake_from_scope, log_refusal
from retrochat.realtime.types import Handshake

logger = logging.getLogger("retrochat.realtime")

Headers = list[tuple[bytes, bytes]]
TEXT = (b"content-type", b"text/plain; charset=UTF-8")
HTML = (b"content-type", b"text/html")
JSON = (b"content-type", b"application/json")
UPGRADE_YIELDS = 8


class PollingConsumer(DirectConsumer):
    def __init__(self, *, app: EngineApp) -> None:
        self.app = app
        self.limits = limits_module.current()
        self.body = bytearray()
        self.too_large = False
        self.task: asyncio.Task[None] | None = None
        self.responded = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.request":
            self.http_request(message)
        elif kind == "http.disconnect":
            self.http_disconnect()

    def http_request(self, message: dict[str, Any]) -> None:
        if self.task is not None:
            return
        chunk = message.get("body", b"")
        if chunk and not self.too_large:
            if len(self.body) + len(chunk) > self.limits.max_payload:
                self.too_large = True
                self.body = bytearray()
            else:
                self.body += chunk
        if message.get("more_body", False):
            return
        self.task = asyncio.get_running_loop().create_task(self.serve(), name="polling request")

    def http_disconnect(self) -> None:
        if self.task is not None and not self.task.done() and not self.responded:
            self.task.cancel()
        raise StopConsumer

    async def serve(self) -> None:
        try:
            status, headers, body = await self.handle()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("polling request failed")
            status, headers, body = 500, [JSON], b'{"code":3,"message":"Bad request"}'
        self.responded = True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def handle(self) -> tuple[int, Headers, bytes]:
        handshake = handshake_from_scope(self.scope)
        origin = handshake.origin
        if not origin_allowed(origin):
            log_refusal(f"origin {origin} is not allowed", handshake)
            return _error(forbidden(), [])
        cors = cors_headers(origin)
        method = self.scope["method"]
        if method == "OPTIONS":
            return 204, preflight_headers(origin, handshake.headers.get("access-control-request-headers")), b""
        try:
            return await self.handle_engine(method, handshake, cors)
        except HandshakeError as error:
            log_refusal(error, handshake)
            return _error(error, cors)

    async def handle_engine(self, method: str, handshake: Handshake, cors: Headers) -> tuple[int, Headers, bytes]:
        transport = check_query(handshake.query)
        if transport != "polling":
            raise bad_request()
        sid = handshake.query.get("sid")
        if not sid:
            if method != "GET":
                raise bad_handshake_method()
            created = EngineSession(app=self.app, limits=self.limits, handshake=handshake, transport="polling")
            packet = created.open()
            return 200, [TEXT, *cors], encode_payload([packet]).encode()
        session = lookup(sid)
        if session is not None and session.probe is not None:
            # An upgrade is under way: let frames the WebSocket consumer already holds (a "5")
            # be applied before this request is answered.
            for _ in range(UPGRADE_YIELDS):
                await asyncio.sleep(0)
            session = lookup(sid)
        if session is None:
            raise unknown_sid()
        if session.transport != "polling":
            raise bad_request()
        if method == "GET":
            packets = await session.poll()
            return 200, [TEXT, *cors], encode_payload(packets).encode()
        if method == "POST":
            return await self.post(session, cors)
        raise bad_request()

    async def post(self, session: EngineSession, cors: Headers) -> tuple[int, Headers, bytes]:
        if session.state is not State.OPEN:
            raise unknown_sid()
        if self.too_large:
            logger.info("Connection error: payload too large (session %s)", session.sid)
            session.close("transport error")
            return 413, cors, b""
        if not session.begin_post():
            raise bad_request()
        try:
            try:
                text = bytes(self.body).decode("utf-8")
                packets = decode_payload(text, max_packets=self.limits.max_packets_per_payload)
            except (UnicodeDecodeError, CodecError) as exc:
                logger.info("Connection error: invalid payload (session %s): %s", session.sid, exc)
                session.close("parse error")
                raise bad_request() from None
            pending = session.receive_payload(packets)
            if session.failed:
                raise bad_request()
            if pending:
                # What the server sends in reply to this POST is queued before the POST is answered.
                waits = [asyncio.ensure_future(p) for p in pending]
                await asyncio.wait(waits, timeout=self.limits.post_settle_ms / 1000)
        finally:
            session.end_post()
        return 200, [HTML, *cors], b"ok"


def _error(error: HandshakeError, cors: Headers) -> tuple[int, Headers, bytes]:
    body = json.dumps(error.body(), separators=(",", ":")).encode()
    return error.status, [JSON, *cors], body
