"""Write paths of authentication: opening, refreshing and revoking sessions."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.models import AuthSession, User
from chat.sessions import hash_token, new_token
from retrochat.realtime.broadcast import disconnect_on_commit


def session_create(
    *, user: User, ip_address: str | None = None, user_agent: str | None = None
) -> tuple[AuthSession, str]:
    """Open a session for ``user``; returns the row and the raw token (shown to the client once)."""
    token = new_token()
    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        token_hash=hash_token(token),
        expires_at=now + timedelta(seconds=settings.AUTH_SESSION_TTL_SECONDS),
        created_at=now,
        updated_at=now,
        ip_address=ip_address,
        user_agent=(user_agent or None) and user_agent[:512],
    )
    return session, token


def session_revoke(*, session: AuthSession, reason: str = "sign-out") -> None:
    """Delete the session; after commit, its sockets are closed on every worker."""
    with transaction.atomic():
        AuthSession.objects.filter(pk=session.pk).delete()
        disconnect_on_commit([session.user_id], auth_session_id=session.pk, reason=reason)
