"""A minimal Engine.IO v4 / Socket.IO v5 client over raw WebSocket frames (asyncio protocol).

It does only what the load generator needs, as cheaply as possible in Python: the HTTP upgrade,
text frames (client frames carry the all-zero mask key, so masking costs nothing), Engine.IO
PING→PONG, Socket.IO CONNECT with an ``auth`` payload, EVENTs with or without an ack id, and ACKs.
No polling, no binary attachments, no reconnection: the benchmark wants failures to be visible.

Incoming Socket.IO packets are handed to ``on_event(name, packet_text)`` /
``on_ack(ack_id, packet_text)`` undecoded beyond the header, so a scenario parses JSON only for
the packets it measures.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import Callable
from typing import Any, cast

_ZERO_MASK = b"\x00\x00\x00\x00"

EventCallback = Callable[[str, str], None]
AckCallback = Callable[[int, str], None]


def _frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + _ZERO_MASK + payload


class SioClient(asyncio.Protocol):
    """One WebSocket connection carrying one Socket.IO connection to namespace ``/``."""

    def __init__(self, host: str, port: int, auth: dict[str, Any] | None) -> None:
        self.host = host
        self.port = port
        self.auth = auth
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self._fragments: list[bytes] = []
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.connected: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_event: EventCallback = lambda name, packet: None
        self.on_ack: AckCallback = lambda ack_id, packet: None
        self._ack_ids = 0
        self.frames_in = 0
        self.frames_out = 0

    # ------------------------------------------------------------------ connection

    @classmethod
    async def connect(
        cls, host: str, port: int, *, auth: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> SioClient:
        loop = asyncio.get_running_loop()
        _, client = await asyncio.wait_for(loop.create_connection(lambda: cls(host, port, auth), host, port), timeout)
        await asyncio.wait_for(asyncio.shield(client.connected), timeout)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        key = base64.b64encode(os.urandom(16)).decode()
        transport = self.transport
        request = (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        transport.write(request.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"connection lost: {exc}")
        for future in (self.opened, self.connected):
            if not future.done():
                future.set_exception(error)
                future.exception()  # mark retrieved
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(b"\x03\xe8", opcode=8))
            self.transport.close()

    # ------------------------------------------------------------------ sending

    def send_text(self, text: str) -> None:
        assert self.transport is not None
        self.frames_out += 1
        self.transport.write(_frame(text.encode()))

    def emit(self, event: str, data: Any, *, ack: bool = True) -> int:
        """``42[<ackid>]["event", data]``; returns the ack id (0 when no ack was asked)."""
        body = json.dumps([event, data], separators=(",", ":"))
        if not ack:
            self.send_text("42" + body)
            return 0
        self._ack_ids += 1
        self.send_text(f"42{self._ack_ids}{body}")
        return self._ack_ids

    def emit_raw(self, packet: str) -> None:
        self.send_text(packet)

    def next_ack_id(self) -> int:
        self._ack_ids += 1
        return self._ack_ids

    # ------------------------------------------------------------------ receiving

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            if b" 101 " not in status:
                self.connection_lost(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            del buffer[: end + 4]
            self._upgraded = True
        pos = 0
        size = len(buffer)
        while size - pos >= 2:
            b0 = buffer[pos]
            n = buffer[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buffer[pos + 2] << 8) | buffer[pos + 3]
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = struct.unpack_from("!Q", buffer, pos + 2)[0]
                head = 10
            if size - pos < head + n:
                break
            payload = bytes(buffer[pos + head : pos + head + n])
            pos += head + n
            self._frame_received(b0, payload)
        if pos:
            del buffer[:pos]

    def _frame_received(self, b0: int, payload: bytes) -> None:
        opcode = b0 & 0x0F
        fin = b0 & 0x80
        if opcode == 0:
            self._fragments.append(payload)
            if not fin:
                return
            payload = b"".join(self._fragments)
            self._fragments = []
            opcode = 1
        elif not fin:
            self._fragments = [payload]
            return
        if opcode == 1:
            self.frames_in += 1
            self._packet(payload.decode())
        elif opcode == 8:
            assert self.transport is not None
            self.transport.close()
        elif opcode == 9:
            assert self.transport is not None
            self.transport.write(_frame(payload, opcode=10))

    def _packet(self, text: str) -> None:
        kind = text[0]
        if kind == "4":
            sio = text[1]
            if sio == "2":
                # 42["event",...] or 42<id>["event",...] (server-sent events carry no ack id here)
                start = text.index('"') + 1
                self.on_event(text[start : text.index('"', start)], text)
            elif sio == "3":
                bracket = text.index("[")
                self.on_ack(int(text[2:bracket]), text[bracket:])
            elif sio == "0":
                if not self.connected.done():
                    self.connected.set_result(text[2:])
            elif sio == "4":
                if not self.connected.done():
                    self.connected.set_exception(ConnectionRefusedError(text[2:]))
            elif sio == "1":
                self.close()
        elif kind == "2":
            self.send_text("3")
        elif kind == "0":
            if not self.opened.done():
                self.opened.set_result(None)
            auth = "" if self.auth is None else json.dumps(self.auth, separators=(",", ":"))
            self.send_text("40" + auth)
        elif kind == "1":
            self.close()
