"""Write paths of authentication: sign-up, sign-in, and opening, refreshing and revoking sessions.

Messages are Better-auth's (contract §2.1); the auth endpoints turn them into ``{code, message}``
with `auth_code`. Passwords are hashed with Argon2 (``PASSWORD_HASHERS``). Sign-in spends one hash
computation on every path, so an unknown e-mail and a wrong password look the same in body and
timing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import AuthSession, User
from chat.services.profiles import profile_create_default
from chat.sessions import hash_token, new_token
from retrochat.errors import BadRequest, Unauthenticated, Unprocessable
from retrochat.realtime.broadcast import disconnect_on_commit

INVALID_EMAIL = "Invalid email"
PASSWORD_TOO_SHORT = "Password too short"  # noqa: S105 (a message, not a password)
PASSWORD_TOO_LONG = "Password too long"  # noqa: S105
USER_ALREADY_EXISTS = "User already exists. Use another email."
FAILED_TO_CREATE_USER = "Failed to create user"
INVALID_EMAIL_OR_PASSWORD = "Invalid email or password"  # noqa: S105

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 100
IMAGE_MAX_LENGTH = 2048
# A session opened with rememberMe=false lives one day and is never extended (Better-auth).
SHORT_SESSION_TTL_SECONDS = 24 * 3600

_NOT_CODE_CHARS = re.compile(r"[^A-Za-z0-9 ]+")


def auth_code(message: str) -> str:
    """Better-auth's error code for a message: ``"Invalid email"`` → ``"INVALID_EMAIL"``."""
    return "_".join(_NOT_CODE_CHARS.sub("", message).upper().split())


def normalize_email(raw: str) -> str | None:
    """The lower-cased address, or None if it is not a valid e-mail address."""
    address = raw.lower()
    if not address or len(address) > EMAIL_MAX_LENGTH or address != address.strip():
        return None
    try:
        validate_email(address)
    except ValidationError:
        return None
    return address


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: AuthSession
    token: str


def session_create(
    *,
    user: User,
    ip_address: str | None = None,
    user_agent: str | None = None,
    ttl_seconds: int | None = None,
) -> tuple[AuthSession, str]:
    """Open a session for ``user``; returns the row and the raw token (shown to the client once)."""
    token = new_token()
    now = timezone.now()
    ttl = settings.AUTH_SESSION_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    session = AuthSession.objects.create(
        user=user,
        token_hash=hash_token(token),
        expires_at=now + timedelta(seconds=ttl),
        created_at=now,
        updated_at=now,
        ip_address=ip_address,
        user_agent=(user_agent or None) and user_agent[:512],
    )
    return session, token


def session_refresh(*, session: AuthSession) -> bool:
    """Sliding expiry: once a session is older than the update age (1 day), push its expiry to
    now + lifetime (7 days). Returns whether it was extended (then the cookie must be re-set)."""
    now = timezone.now()
    lifetime = timedelta(seconds=settings.AUTH_SESSION_TTL_SECONDS)
    due = session.expires_at - lifetime + timedelta(seconds=settings.AUTH_SESSION_REFRESH_AGE_SECONDS)
    if due > now:
        return False
    expires_at = now + lifetime
    AuthSession.objects.filter(pk=session.pk).update(expires_at=expires_at, updated_at=now)
    session.expires_at = expires_at
    session.updated_at = now
    return True


def session_revoke(*, session: AuthSession, reason: str = "sign-out") -> None:
    """Delete the session; after commit, its sockets are closed on every worker."""
    with transaction.atomic():
        AuthSession.objects.filter(pk=session.pk).delete()
        disconnect_on_commit([session.user_id], auth_session_id=session.pk, reason=reason)


def session_revoke_token(*, token: str, reason: str = "sign-out") -> bool:
    """Delete the session carrying ``token`` (expired or not); False if there was none."""
    session = AuthSession.objects.filter(token_hash=hash_token(token)).first()
    if session is None:
        return False
    session_revoke(session=session, reason=reason)
    return True


def session_discard_expired(*, token: str) -> None:
    """Delete the row behind an expired token (get-session found it dead; its cookie is cleared)."""
    session = AuthSession.objects.filter(token_hash=hash_token(token), expires_at__lte=timezone.now()).first()
    if session is not None:
        session_revoke(session=session, reason="session expired")


def _check_password_rules(password: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise BadRequest(PASSWORD_TOO_SHORT)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise BadRequest(PASSWORD_TOO_LONG)


def user_sign_up(
    *,
    name: str | None,
    email: str,
    password: str,
    image: str | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    remember_me: bool = True,
) -> SignedIn:
    """Create the user (Argon2 password), its profile and a first session, atomically.

    Checks in Better-auth's order: e-mail format, password length, e-mail taken, then the name
    (``None`` = missing or not a string).
    """
    address = normalize_email(email)
    if address is None:
        raise BadRequest(INVALID_EMAIL)
    _check_password_rules(password)
    if User.objects.filter(email=address).exists():
        raise Unprocessable(USER_ALREADY_EXISTS)
    if name is None or len(name) > NAME_MAX_LENGTH:
        raise Unprocessable(FAILED_TO_CREATE_USER)
    password_hash = make_password(password)  # slow: outside the transaction
    try:
        with transaction.atomic():
            user = User(
                name=name,
                email=address,
                email_verified=False,
                image=image if image and len(image) <= IMAGE_MAX_LENGTH else None,
                password=password_hash,
            )
            user.save(force_insert=True)
            profile_create_default(user=user)
            session, token = session_create(
                user=user,
                ip_address=ip_address,
                user_agent=user_agent,
                ttl_seconds=None if remember_me else SHORT_SESSION_TTL_SECONDS,
            )
    except IntegrityError as exc:
        if User.objects.filter(email=address).exists():  # a concurrent sign-up won the race
            raise Unprocessable(USER_ALREADY_EXISTS) from exc
        raise
    return SignedIn(user=user, session=session, token=token)


def user_sign_in(
    *,
    email: str,
    password: str,
    ip_address: str | None = None,
    user_agent: str | None = None,
    remember_me: bool = True,
) -> SignedIn:
    """Check the credentials and open a session. AI users and deactivated users never get one."""
    address = normalize_email(email)
    if address is None:
        raise BadRequest(INVALID_EMAIL)
    user = User.objects.filter(email=address).first()
    if user is None or user.is_ai or not user.is_active or not user.has_usable_password():
        make_password(password)  # the same hashing work as a real check: no timing difference
        raise Unauthenticated(INVALID_EMAIL_OR_PASSWORD)
    if not user.check_password(password):  # also upgrades an outdated hash on success
        raise Unauthenticated(INVALID_EMAIL_OR_PASSWORD)
    with transaction.atomic():
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(last_login=now)
        user.last_login = now
        session, token = session_create(
            user=user,
            ip_address=ip_address,
            user_agent=user_agent,
            ttl_seconds=None if remember_me else SHORT_SESSION_TTL_SECONDS,
        )
    return SignedIn(user=user, session=session, token=token)
