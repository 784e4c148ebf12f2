"""Helpers for end-to-end tests: users with sessions, connected Socket.IO clients, event recorders.

Typical test (a real daphne process from the ``server`` fixture, rows visible to it because the
test uses a transactional database)::

    @pytest.mark.e2e
    @pytest.mark.django_db(transaction=True)
    async def test_something(server):
        alice = await amake_user(name="Alice")
        client = await connect(server, alice)                 # websocket, cookie auth
        try:
            ack = await client.call("e2e:echo", {"x": 1})      # emit with ack, returns ack args
            payload, = await client.events.wait_for("e2e:echoed")
            await client.events.assert_not_received("e2e:other", within=0.3)
        finally:
            await client.disconnect()

`make_user` is synchronous (ORM); in async tests use `amake_user` (the ``a*`` twins run in a
worker thread and close their database connection afterwards, so the test database can be
dropped at the end of the run). Users are created through the
services (`profile_create_default`, `session_create`) with an unusable password unless one is
given (then `user_sign_up` runs, with its Argon2 hashing).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import socketio
from channels.db import database_sync_to_async


class HasBaseUrl(Protocol):
    @property
    def base_url(self) -> str: ...


# --------------------------------------------------------------------------------------------- users


@dataclass(frozen=True)
class TestUser:
    """A user with one live session: ``token`` is the raw token, ``cookie_header`` the Cookie header."""

    __test__ = False  # not a test class

    id: str
    name: str
    email: str
    token: str
    session_id: str

    @property
    def cookie_value(self) -> str:
        from chat.sessions import sign_token

        return quote(sign_token(self.token), safe="")

    @property
    def cookie_header(self) -> str:
        from chat.sessions import COOKIE_NAME

        return f"{COOKIE_NAME}={self.cookie_value}"

    @property
    def secure_cookie_header(self) -> str:
        from chat.sessions import SECURE_COOKIE_NAME

        return f"{SECURE_COOKIE_NAME}={self.cookie_value}"


def make_user(*, name: str | None = None, email: str | None = None, password: str | None = None) -> TestUser:
    """Create a user, its profile and a session (sync: call `amake_user` from async code)."""
    from django.db import transaction

    from chat.models import User
    from chat.services.auth import session_create, user_sign_up
    from chat.services.profiles import profile_create_default

    tag = secrets.token_hex(4)
    name = name or f"E2E {tag}"
    email = email or f"e2e-{tag}@example.test"
    if password is not None:
        signed = user_sign_up(name=name, email=email, password=password)
        return TestUser(signed.user.id, name, signed.user.email, signed.token, signed.session.id)
    with transaction.atomic():
        user = User.objects.create_user(email=email, name=name)
        profile_create_default(user=user)
        session, token = session_create(user=user)
    return TestUser(user.id, name, user.email, token, session.id)


async def amake_user(**kwargs: Any) -> TestUser:
    user: TestUser = await database_sync_to_async(make_user)(**kwargs)
    return user


def new_session(user: TestUser) -> TestUser:
    """Another session (another browser) of the same user."""
    from chat.models import User
    from chat.services.auth import session_create

    session, token = session_create(user=User.objects.get(pk=user.id))
    return replace(user, token=token, session_id=session.id)


async def anew_session(user: TestUser) -> TestUser:
    other: TestUser = await database_sync_to_async(new_session)(user)
    return other


def expire_session(user: TestUser) -> None:
    """Make the user's session expired (the row stays)."""
    from django.utils import timezone

    from chat.models import AuthSession

    AuthSession.objects.filter(pk=user.session_id).update(expires_at=timezone.now() - timedelta(seconds=1))


async def aexpire_session(user: TestUser) -> None:
    await database_sync_to_async(expire_session)(user)


def revoke_session(user: TestUser) -> None:
    """Sign-out through the service (its sockets are closed on every worker sharing this layer)."""
    from chat.models import AuthSession
    from chat.services.auth import session_revoke

    session_revoke(session=AuthSession.objects.get(pk=user.session_id))


async def arevoke_session(user: TestUser) -> None:
    await database_sync_to_async(revoke_session)(user)


# --------------------------------------------------------------------------------------------- events


@dataclass
class EventRecorder:
    """Every event a client received, in order, with helpers to wait and to assert counts.

    Predicates get the event's arguments: ``lambda payload: payload["userId"] == alice.id``.
    """

    received: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def record(self, event: str, args: Sequence[Any]) -> None:
        self.received.append((event, tuple(args)))

    def matching(self, event: str, predicate: Callable[..., bool] | None = None) -> list[tuple[Any, ...]]:
        return [args for name, args in self.received if name == event and (predicate is None or predicate(*args))]

    def names(self) -> list[str]:
        return [name for name, _ in self.received]

    def clear(self) -> None:
        self.received.clear()

    async def wait_for(
        self, event: str, predicate: Callable[..., bool] | None = None, *, timeout: float = 5.0, count: int = 1
    ) -> tuple[Any, ...]:
        """The arguments of the ``count``-th matching event, waiting up to ``timeout`` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.matching(event, predicate)
            if len(found) >= count:
                return found[count - 1]
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(
                    f"{event!r} x{count} not received within {timeout}s; got {len(found)}; all events: {self.names()}"
                )
            await asyncio.sleep(0.01)

    async def assert_once(
        self,
        event: str,
        predicate: Callable[..., bool] | None = None,
        *,
        timeout: float = 5.0,
        settle: float = 0.5,
    ) -> tuple[Any, ...]:
        """Received, and exactly once (no duplicate within ``settle`` seconds after the first)."""
        args = await self.wait_for(event, predicate, timeout=timeout)
        await asyncio.sleep(settle)
        found = self.matching(event, predicate)
        assert len(found) == 1, f"{event!r} received {len(found)} times: {found}"
        return args

    async def assert_not_received(
        self, event: str, predicate: Callable[..., bool] | None = None, *, within: float = 0.5
    ) -> None:
        await asyncio.sleep(within)
        found = self.matching(event, predicate)
        assert not found, f"{event!r} unexpectedly received: {found}"


# --------------------------------------------------------------------------------------------- clients


class ConnectRefused(Exception):
    """The server answered CONNECT with CONNECT_ERROR; ``data`` is its payload."""

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.data = data


class Client:
    """A python-socketio `AsyncClient` plus the `EventRecorder` of everything it received."""

    def __init__(self, sio: socketio.AsyncClient, events: EventRecorder) -> None:
        self.sio = sio
        self.events = events
        self.disconnect_reasons: list[Any] = []
        self.connect_errors: list[Any] = []

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    @property
    def sid(self) -> str | None:
        sid: str | None = self.sio.get_sid()
        return sid

    @property
    def transport(self) -> str:
        return str(self.sio.transport())

    async def emit(self, event: str, *args: Any) -> None:
        await self.sio.emit(event, args[0] if len(args) == 1 else args if args else None)

    async def call(self, event: str, *args: Any, timeout: float = 5.0) -> Any:
        """Emit with an ack; returns the ack (one argument as itself, several as a tuple)."""
        data: Any = args[0] if len(args) == 1 else args if args else None
        return await self.sio.call(event, data, timeout=timeout)

    async def close_polling(self) -> None:
        """POST the Engine.IO CLOSE packet of a polling connection ourselves.

        python-engineio's client stops its write loop before its CLOSE packet goes out, so over
        polling its disconnect would wait for the server's next ping (25 s) to end its pending GET.
        """
        eio = self.sio.eio
        if eio.state in ("connected", "disconnecting") and eio.current_transport == "polling" and eio.sid:
            with contextlib.suppress(Exception):
                async with httpx.AsyncClient(timeout=2.0) as http:
                    await http.post(eio.base_url, content="1")

    async def disconnect(self) -> None:
        await self.close_polling()
        if self.sio.connected or self.sio.eio.state != "disconnected":
            await self.sio.disconnect()

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.sio.connected:
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"client still connected after {timeout}s")
            await asyncio.sleep(0.01)


def new_client(*, reconnection: bool = False, **kwargs: Any) -> Client:
    """An unconnected client with its recorder (for custom connect calls)."""
    sio = socketio.AsyncClient(reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=0.5, **kwargs)
    events = EventRecorder()
    client = Client(sio, events)

    async def catch_all(event: str, *args: Any) -> None:
        events.record(event, args)

    async def on_disconnect(*args: Any) -> None:
        client.disconnect_reasons.append(args[0] if args else None)
        events.record("disconnect", args)

    async def on_connect_error(data: Any = None) -> None:
        client.connect_errors.append(data)
        events.record("connect_error", (data,))
        # python-socketio disconnects right after a refused CONNECT: let that finish at once.
        pending.add(asyncio.ensure_future(client.close_polling()))

    pending: set[asyncio.Future[None]] = set()

    async def on_connect() -> None:
        events.record("connect", ())

    sio.on("*", catch_all)
    sio.on("disconnect", on_disconnect)
    sio.on("connect_error", on_connect_error)
    sio.on("connect", on_connect)
    return client


async def connect(
    server: HasBaseUrl,
    user: TestUser | None = None,
    *,
    transports: Iterable[str] = ("websocket",),
    auth: str | None = "cookie",
    headers: dict[str, str] | None = None,
    auth_payload: Any = None,
    reconnection: bool = False,
    wait_timeout: float = 5.0,
) -> Client:
    """A connected client of ``server`` as ``user``.

    ``transports``: ``("websocket",)`` (default, what the frontend tries first), ``("polling",)``,
    or ``("polling", "websocket")`` for polling with upgrade. ``auth``: ``"cookie"`` (the session
    cookie on the handshake), ``"token"`` (``auth.token`` in CONNECT), ``"both"`` or None.
    ``auth_payload`` replaces the CONNECT payload entirely. Raises `ConnectRefused` with the
    CONNECT_ERROR payload when the server refuses.
    """
    client = new_client(reconnection=reconnection)
    all_headers = dict(headers or {})
    payload = auth_payload
    if user is not None and auth in ("cookie", "both"):
        all_headers["Cookie"] = user.cookie_header
    if user is not None and auth in ("token", "both") and payload is None:
        payload = {"token": user.token}
    try:
        await client.sio.connect(
            server.base_url,
            # A callable: python-engineio removes "Cookie" from the dict it is given, which would
            # leave reconnections without the session cookie.
            headers=lambda: dict(all_headers),
            auth=payload,
            transports=list(transports),
            wait_timeout=wait_timeout,
        )
    except socketio.exceptions.ConnectionError as exc:
        await client.disconnect()
        if client.connect_errors:
            raise ConnectRefused(client.connect_errors[-1]) from exc
        raise
    return client


async def wait_until(condition: Callable[[], bool], *, timeout: float = 5.0, message: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        await asyncio.sleep(0.01)
