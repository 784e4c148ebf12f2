"""A raw Engine.IO client for protocol tests: plain HTTP (httpx) and WebSocket (aiohttp) frames.

No Socket.IO library is involved: tests write and read the exact wire strings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx

RS = "\x1e"


class Closed(Exception):
    """The WebSocket was closed by the server; ``code`` is its close code."""

    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


class RawWs:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._inbox: asyncio.Queue[aiohttp.WSMessage] | None = None
        self._reader: asyncio.Task[None] | None = None

    def autopong(self) -> None:
        """Answer every server PING at once from a background reader, as real clients do.

        The conformance heartbeat is 300 ms + 200 ms: without this, a connection that a test keeps
        idle while it works with another one (or a slow, loaded machine) misses its pong deadline.
        Heartbeat tests themselves do not use it.
        """
        if self._reader is None:
            self._inbox = asyncio.Queue()
            self._reader = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        assert self._inbox is not None
        while True:
            msg = await self.ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                await self.ws.send_str("3")
                continue
            await self._inbox.put(msg)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return
            if msg.type == aiohttp.WSMsgType.ERROR:
                return

    async def _next(self, timeout: float) -> aiohttp.WSMessage:
        if self._inbox is None:
            return await self.ws.receive(timeout=timeout)
        return await asyncio.wait_for(self._inbox.get(), timeout)

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def recv(self, timeout: float = 3.0, *, skip_pings: bool = False) -> str | bytes:
        """The next frame (raises `Closed` when the server closes, TimeoutError when none comes)."""
        while True:
            msg = await self._next(timeout)
            if msg.type == aiohttp.WSMsgType.TEXT:
                if skip_pings and msg.data == "2":
                    continue
                return str(msg.data)
            if msg.type == aiohttp.WSMsgType.BINARY:
                return bytes(msg.data)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                raise Closed(self.ws.close_code)
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise Closed(None)

    async def recv_open(self) -> dict[str, Any]:
        frame = await self.recv()
        assert isinstance(frame, str), frame
        assert frame.startswith("0"), frame
        return dict(json.loads(frame[1:]))

    async def expect_closed(self, timeout: float = 3.0) -> int | None:
        """Wait until the server closes the socket (frames before that are ignored)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"WebSocket still open after {timeout}s")
            try:
                await self.recv(timeout=remaining)
            except Closed as closed:
                return closed.code

    async def expect_silence(self, within: float, *, skip_pings: bool = True) -> None:
        try:
            frame = await self.recv(timeout=within, skip_pings=skip_pings)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame!r}")

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self.ws.close()


@asynccontextmanager
async def ws_connect(
    base_url: str, path: str = "/socket.io/", query: str = "EIO=4&transport=websocket", **kwargs: Any
) -> AsyncIterator[RawWs]:
    url = base_url.replace("http://", "ws://") + path + ("?" + query if query else "")
    async with aiohttp.ClientSession() as session, session.ws_connect(url, autoping=True, **kwargs) as ws:
        raw = RawWs(ws)
        try:
            yield raw
        finally:
            if raw._reader is not None:
                raw._reader.cancel()


async def ws_handshake_status(base_url: str, path: str, query: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a WebSocket handshake that the server refuses (101 if accepted)."""
    url = base_url.replace("http://", "ws://") + path + "?" + query
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers or {}) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


class Polling:
    """Long-polling requests against one server path."""

    def __init__(self, base_url: str, path: str = "/socket.io/") -> None:
        self.path = path
        self.http = httpx.AsyncClient(base_url=base_url, timeout=5.0)

    async def __aenter__(self) -> Polling:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def url(self, sid: str | None = None, query: str = "EIO=4&transport=polling") -> str:
        return f"{self.path}?{query}" + (f"&sid={sid}" if sid else "")

    async def open(self, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        response = await self.http.get(self.url(), **kwargs)
        assert response.status_code == 200, response.text
        assert response.text.startswith("0"), response.text
        handshake = json.loads(response.text[1:])
        return handshake["sid"], handshake

    async def get(self, sid: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(self.url(sid), **kwargs)

    async def post(self, sid: str, body: str | bytes, **kwargs: Any) -> httpx.Response:
        return await self.http.post(self.url(sid), content=body, **kwargs)
