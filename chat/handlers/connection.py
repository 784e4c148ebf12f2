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
from typing import Any

from channels.db import database_sync_to_async

from chat.sessions import ResolvedSession, resolve_token, token_from_cookies
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


def _resolve(cookie_token: str | None, auth_token: str | None) -> ResolvedSession | None:
    resolved = resolve_token(cookie_token) if cookie_token else None
    if resolved is None and auth_token:
        resolved = resolve_token(auth_token)
    return resolved


@events.on_connect
async def authenticate(socket: Socket, auth: Any) -> None:
    logger.info("Client attempting connection: %s", socket.sid)
    try:
        resolved = await database_sync_to_async(_resolve)(
            token_from_cookies(socket.handshake.cookies), _auth_token(auth)
        )
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
