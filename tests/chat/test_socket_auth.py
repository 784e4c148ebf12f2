"""Authenticating sockets at CONNECT: many tokens resolved in one query, connects arriving together
sharing one lookup, the cookie's session first and ``auth.token`` second."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.handlers import connection
from chat.services.auth import SignedIn
from chat.sessions import cookie_name, resolve_token, resolve_tokens, sign_token
from retrochat.realtime.router import ConnectionRefused
from retrochat.realtime.types import Handshake
from tests.chat.dm_factories import FakeSocket


@pytest.mark.django_db
def test_many_tokens_are_resolved_in_one_query(
    new_account: Callable[..., SignedIn], django_assert_num_queries: Any
) -> None:
    alice, bob, expired, inactive = (new_account(name) for name in ("alice", "bob", "expired", "inactive"))
    expired.session.expires_at = timezone.now() - timedelta(seconds=1)
    expired.session.save()
    inactive.user.is_active = False
    inactive.user.save()
    tokens = [alice.token, None, "unknown-token", expired.token, inactive.token, bob.token, "x" * 300, alice.token]

    with django_assert_num_queries(1):
        resolved = resolve_tokens(tokens)

    assert [r.user.pk if r else None for r in resolved] == [
        alice.user.pk,
        None,
        None,
        None,
        None,
        bob.user.pk,
        None,
        alice.user.pk,
    ]
    assert resolved[0] is not None
    assert (resolved[0].session.pk, resolved[0].token) == (alice.session.pk, alice.token)
    assert resolve_token(bob.token) == resolved[5]
    assert resolve_token(None) is None


def socket_with(cookie_token: str | None = None) -> FakeSocket:
    cookies = {cookie_name(): sign_token(cookie_token)} if cookie_token else {}
    return FakeSocket(user_id=None, handshake=Handshake(headers={}, cookies=cookies, query={}))


@pytest.mark.django_db(transaction=True)
async def test_connects_arriving_together_share_one_lookup(new_account: Callable[..., SignedIn]) -> None:
    accounts = [await database_sync_to_async(new_account)(f"wave{i}") for i in range(6)]
    rounds_before, _ = connection._sessions.stats()
    sockets = [socket_with() for _ in accounts]
    connects = (connection.authenticate(s, {"token": a.token}) for s, a in zip(sockets, accounts, strict=True))
    await asyncio.gather(*connects)
    rounds, _ = connection._sessions.stats()
    assert [s.user_id for s in sockets] == [a.user.pk for a in accounts]
    assert [s.auth_session_id for s in sockets] == [a.session.pk for a in accounts]
    assert rounds - rounds_before <= 2  # the first connect's round, then everyone who arrived meanwhile


@pytest.mark.django_db(transaction=True)
async def test_the_cookie_session_comes_first_then_the_auth_token(new_account: Callable[..., SignedIn]) -> None:
    cookie_owner = await database_sync_to_async(new_account)("cookie")
    token_owner = await database_sync_to_async(new_account)("token")

    both = socket_with(cookie_owner.token)
    await connection.authenticate(both, {"token": token_owner.token})
    assert both.user_id == cookie_owner.user.pk

    stale_cookie = socket_with("no-such-session")
    await connection.authenticate(stale_cookie, {"token": token_owner.token})
    assert stale_cookie.user_id == token_owner.user.pk

    with pytest.raises(ConnectionRefused):
        await connection.authenticate(socket_with("no-such-session"), {"token": "nor-this"})
    with pytest.raises(ConnectionRefused):
        await connection.authenticate(socket_with(), {"token": 42})
