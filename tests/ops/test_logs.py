"""Logs: the JSON lines parse and carry the request / connection / socket / user ids, the text
format shows the same, secrets and message bodies are redacted, and LOG_FORMAT picks the format.
(The real server's log file is checked in tests/e2e/test_ops_logs.py.)"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from chat.services.auth import SignedIn
from retrochat.observability import context
from retrochat.observability.logs import ContextFilter, JsonFormatter, TextFormatter, redact
from tests.test_settings import PRODUCTION, run


class Capture:
    """A handler like the configured one (context filter + formatter) on some loggers."""

    def __init__(self, formatter: logging.Formatter, *names: str) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(ContextFilter())
        self.handler.setFormatter(formatter)
        self.loggers = [logging.getLogger(name) for name in names]

    def __enter__(self) -> Capture:
        for logger in self.loggers:
            logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger in self.loggers:
            logger.removeHandler(self.handler)

    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


class StandInSocket:
    sid = "sock-1"
    user_id: str | None = "user-42"
    engine_sid = "Ab12cdConnection"


@pytest.fixture
def clean_context() -> Iterator[None]:
    tokens = [
        context.request_id.set(None),
        context.user_id.set(None),
        context.connection_id.set(None),
    ]
    socket_token = context.current_socket.set(None)
    yield
    context.current_socket.reset(socket_token)
    for var, token in zip((context.request_id, context.user_id, context.connection_id), tokens, strict=True):
        var.reset(token)


@pytest.mark.usefixtures("clean_context")
def test_json_lines_carry_the_request_id_user_id_and_structured_fields() -> None:
    logger = logging.getLogger("retrochat.test.json")
    with Capture(JsonFormatter(), logger.name) as capture:
        context.request_id.set("req-1")
        context.bind_user("user-7")
        logger.warning("refused %s", "thing", extra={"fields": {"status": 403, "path": "/api/x", "level": "nope"}})
    (line,) = capture.records()
    assert line["level"] == "WARNING"
    assert line["logger"] == "retrochat.test.json"
    assert line["message"] == "refused thing"
    assert line["request_id"] == "req-1"
    assert line["user_id"] == "user-7"
    assert line["status"] == 403
    assert line["path"] == "/api/x"
    assert line["level"] == "WARNING"  # a field cannot overwrite a reserved key
    assert isinstance(line["pid"], int)
    assert line["time"].endswith("Z")
    assert "connection_id" not in line


@pytest.mark.usefixtures("clean_context")
def test_socket_lines_carry_connection_socket_and_user_ids() -> None:
    logger = logging.getLogger("retrochat.test.socket")
    socket = StandInSocket()
    with Capture(JsonFormatter(), logger.name) as capture, Capture(TextFormatter(), logger.name) as text:
        context.current_socket.set(socket)
        logger.info("before auth")
        socket.user_id = None
        logger.info("anonymous")
    first, second = capture.records()
    assert (first["connection_id"], first["socket_id"], first["user_id"]) == ("Ab12cdConnection", "sock-1", "user-42")
    assert "user_id" not in second
    assert text.lines()[0].endswith(
        "INFO retrochat.test.socket [conn=Ab12cdConnection sock=sock-1 user=user-42] before auth"
    )


@pytest.mark.usefixtures("clean_context")
def test_secrets_and_message_bodies_are_redacted_even_in_tracebacks() -> None:
    logger = logging.getLogger("retrochat.test.redact")
    token = "tok3n-abcdefghijklmnopqrstuvwxyz"
    with Capture(JsonFormatter(), logger.name) as capture:
        try:
            raise ValueError(f'bad payload {{"content": "my secret love letter", "token": "{token}"}}')
        except ValueError:
            logger.exception("cookie was better-auth.session_token=%s.sig; Authorization: Bearer %s", token, token)
    text = capture.stream.getvalue()
    (line,) = capture.records()
    assert token not in text
    assert "love letter" not in text
    assert "[redacted]" in line["message"]
    assert "ValueError" in line["exception"]


def test_redact_keeps_ordinary_text() -> None:
    for text in (
        "User u1 connected with socket abc",
        "AI reply for user u1 served by provider local: ok, 3 chunk(s), 40 chars in 0.20s",
        "token bucket refilled",
        "GET /api/messages/u2 200 3.1ms",
    ):
        assert redact(text) == text
    assert redact("password=hunter2&x=1") == "password=[redacted]&x=1"
    assert redact("input_value='hi there', input_type=str") == "input_value=[redacted], input_type=str"


@pytest.mark.usefixtures("clean_context")
def test_http_access_line_has_the_request_id_of_the_response_and_the_user(
    account: SignedIn, account_client: Client
) -> None:
    with Capture(JsonFormatter(), "retrochat.http") as capture:
        response = account_client.get("/api/friends")
        anonymous = Client().get("/api/friends")
    assert response.status_code == 200
    first, second = capture.records()
    assert first["request_id"] == response["X-Request-ID"]
    assert first["user_id"] == account.user.pk
    assert (first["method"], first["path"], first["status"]) == ("GET", "/api/friends", 200)
    assert isinstance(first["duration_ms"], float)
    assert second["request_id"] == anonymous["X-Request-ID"]
    assert "user_id" not in second
    assert account.token not in capture.stream.getvalue()


LOG_ONE_LINE = (
    "import django, logging; django.setup(); "
    "logging.getLogger('chat.connection').warning('User %s connected', 'u1'); "
    "logging.getLogger('retrochat.realtime').debug('hidden')"
)


@pytest.mark.parametrize(
    ("env", "is_json"),
    [({}, False), (PRODUCTION, True), ({**PRODUCTION, "LOG_FORMAT": "text"}, False), ({"LOG_FORMAT": "JSON"}, True)],
)
def test_log_format_follows_the_environment(env: dict[str, str], is_json: bool) -> None:
    result = run(env, "-c", LOG_ONE_LINE)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    if is_json:
        assert json.loads(line)["message"] == "User u1 connected"
    else:
        assert line.endswith("WARNING chat.connection User u1 connected")


def test_unknown_log_format_stops_start_up() -> None:
    result = run({"LOG_FORMAT": "xml"}, "manage.py", "check")
    assert result.returncode != 0
    assert "LOG_FORMAT must be text or json, not 'xml'" in result.stderr
