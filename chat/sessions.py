"""Session tokens and the session cookie (Better-auth compatible).

The cookie value is ``<token>.<base64 HMAC-SHA256(SECRET_KEY, token)>`` (URL-encoded), the
format Better-auth uses; only ``sha256(token)`` is stored in the database. The raw token is also
what the frontend sends as ``auth.token`` in the Socket.IO handshake.

Reads live here (resolving a token to a session); writes (sign-in, sign-out, refresh) are in
`chat.services.auth`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from chat.models import AuthSession, User

COOKIE_NAME = "better-auth.session_token"
SECURE_COOKIE_NAME = f"__Secure-{COOKIE_NAME}"
# Cleared on sign-out too: Better-auth's cache and "don't remember" cookies (never set here).
AUXILIARY_COOKIE_NAMES = ("better-auth.session_data", "better-auth.dont_remember")


@dataclass(frozen=True)
class ResolvedSession:
    session: AuthSession
    user: User
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signature(token: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_token(token: str) -> str:
    """The cookie value for ``token`` (before URL encoding)."""
    return f"{token}.{_signature(token)}"


def unsign_cookie(value: str) -> str | None:
    """The token inside a cookie value, or None if the signature does not match."""
    token, sep, signature = unquote(value).rpartition(".")
    if not sep or not token:
        return None
    return token if hmac.compare_digest(signature, _signature(token)) else None


def cookie_name() -> str:
    return SECURE_COOKIE_NAME if settings.AUTH_COOKIE_SECURE else COOKIE_NAME


def token_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The session token from either cookie name, signature checked."""
    for name in (SECURE_COOKIE_NAME, COOKIE_NAME):
        value = cookies.get(name)
        if value:
            token = unsign_cookie(value)
            if token:
                return token
    return None


def resolve_token(token: str | None) -> ResolvedSession | None:
    """The live session for a raw token: unknown, expired or deactivated → None."""
    return resolve_tokens([token])[0]


def resolve_tokens(tokens: Sequence[str | None]) -> list[ResolvedSession | None]:
    """`resolve_token` of each token, in one query (socket connects that arrive together)."""
    hashes = {token: hash_token(token) for token in tokens if token and len(token) <= 256}
    sessions = {
        session.token_hash: session
        for session in AuthSession.objects.select_related("user").filter(token_hash__in=set(hashes.values()))
    }
    now = timezone.now()
    resolved: list[ResolvedSession | None] = []
    for token in tokens:
        session = sessions.get(hashes[token]) if token in hashes else None
        if token is None or session is None or session.is_expired(now) or not session.user.is_active:
            resolved.append(None)
        else:
            resolved.append(ResolvedSession(session=session, user=session.user, token=token))
    return resolved


def resolve_request(request: HttpRequest) -> ResolvedSession | None:
    """The session of an HTTP request, from its cookie (cached on the request)."""
    cached: ResolvedSession | bool | None = getattr(request, "_retrochat_session", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    resolved = resolve_token(token_from_cookies(request.COOKIES))
    request._retrochat_session = resolved  # type: ignore[attr-defined]
    return resolved
