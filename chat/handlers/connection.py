"""Socket.IO handlers: connection — who is on the other end of a socket.

At CONNECT (contract §4.2, §8.1.5-6) the socket is authenticated synchronously, before any of its
events runs: the session cookie of the handshake (either cookie name), else ``auth.token`` from
the CONNECT payload (the raw session token the frontend sends). No valid session → CONNECT_ERROR
``{"message": "Unauthorized"}``. Otherwise the socket carries the user id and auth session id and
joins the user's room, so every event for that user reaches every tab, on every worker.

This hook is registered first (this module is imported before the other chat handler modules),
so hooks registered later (presence) see an authenticated socket.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from chat.services.batching import Batcher
from chat.sessions import ResolvedSession, resolve_tokens, token_from_cookies
from retrochat.realtime.hub import user_room
from retrochat.realtime.router import ConnectionRefused, events
from retrochat.realtime.types import Socket

logger = logging.getLogger("chat.connection")


def _auth_token(auth: Any) -> str | None:
    if isinstance(auth, dict):
        token = auth.get("token")
        if isinstance(token, str) and token:
            return token
    return None


def _resolve_many(requests: Sequence[tuple[str | None, str | None]]) -> list[ResolvedSession | None]:
    """Each ``(cookie token, auth token)``: the cookie's session, else the auth token's; one query."""
    resolved = resolve_tokens([token for pair in requests for token in pair])
    return [resolved[2 * i] or resolved[2 * i + 1] for i in range(len(requests))]


# Connects arriving together (a reconnect wave after a deploy) share one lookup per round.
_sessions: Batcher[tuple[str | None, str | None], ResolvedSession | None] = Batcher(_resolve_many, name="connect-auth")


@events.on_connect
async def authenticate(socket: Socket, auth: Any) -> None:
    logger.info("Client attempting connection: %s", socket.sid)
    try:
        resolved = await _sessions.submit((token_from_cookies(socket.handshake.cookies), _auth_token(auth)))
    except Exception as exc:
        logger.error("Connection error: %s", exc)
        raise ConnectionRefused("Unauthorized") from exc
    if resolved is None:
        logger.warning("Invalid session for socket %s", socket.sid)
        raise ConnectionRefused("Unauthorized")
    socket.user_id = resolved.user.id
    socket.auth_session_id = resolved.session.id
    await socket.join(user_room(resolved.user.id))
    logger.info("User %s connected with socket %s", resolved.user.id, socket.sid)


@events.on_disconnect
async def log_disconnect(socket: Socket, reason: str) -> None:
    logger.info("User %s disconnected from socket %s: %s", socket.user_id, socket.sid, reason)
