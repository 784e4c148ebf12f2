"""A scriptable fake of OpenAI's chat-completions endpoint: a real HTTP server on 127.0.0.1.

The provider under test talks to it through the official SDK over a real socket, so the whole
client path runs (request building, SSE parsing, errors, timeouts, cancellation). Each incoming
request consumes the next scripted behaviour (the last one repeats):

    server.script(Status(429, retry_after=0), Stream(["Hel", "lo"]))

Behaviours: `Stream` (optionally slow, optionally cut after n chunks), `Status` (an error
answer), `Hang` (read the request, never answer). Everything the server saw is recorded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Stream:
    chunks: tuple[str, ...] | list[str]
    delay: float = 0.0  # seconds between chunks (and before the first)
    drop_after: int | None = None  # close the connection abruptly after this many chunks


@dataclass(frozen=True)
class Status:
    code: int
    message: str = "error"
    retry_after: float | None = None


@dataclass(frozen=True)
class Hang:
    seconds: float = 30.0


Behaviour = Stream | Status | Hang


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    behaviours: list[Behaviour] = field(default_factory=lambda: [Stream(["Hello", " there", "!"])])
    requests: list[Recorded] = field(default_factory=list)
    completed: int = 0  # streams written to the end
    client_gone: threading.Event = field(default_factory=threading.Event)
    open_connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self.behaviours = list(behaviours)

    def _next(self) -> Behaviour:
        with self._lock:
            return self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being served (the client closed or the answer is complete)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.open_connections == 0:
                    return True
            time.sleep(0.01)
        return False


def _chunk(content: str | None, *, finish: str | None = None, model: str = "fake-model") -> bytes:
    delta: dict[str, Any] = {} if content is None else {"role": "assistant", "content": content}
    event = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            with fake._lock:
                fake.open_connections += 1
            try:
                self._serve()
            finally:
                with fake._lock:
                    fake.open_connections -= 1

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            fake.requests.append(
                Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"{}"))
            )
            behaviour = fake._next()
            if isinstance(behaviour, Status):
                body = json.dumps(
                    {"error": {"message": behaviour.message, "type": "fake_error", "code": str(behaviour.code)}}
                ).encode()
                self.send_response(behaviour.code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if behaviour.retry_after is not None:
                    self.send_header("Retry-After", str(behaviour.retry_after))
                self.end_headers()
                self.wfile.write(body)
                return
            if isinstance(behaviour, Hang):
                fake._stop.wait(behaviour.seconds)
                return
            model = str(fake.requests[-1].body.get("model", "fake-model"))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            try:
                self.wfile.flush()
                for index, content in enumerate(behaviour.chunks):
                    if behaviour.drop_after is not None and index >= behaviour.drop_after:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if behaviour.delay and fake._stop.wait(behaviour.delay):
                        return
                    self.wfile.write(_chunk(content, model=model))
                    self.wfile.flush()
                self.wfile.write(_chunk(None, finish="stop", model=model))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                fake.completed += 1
            except (BrokenPipeError, ConnectionResetError, OSError):
                fake.client_gone.set()

    return Handler


@contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake._stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
