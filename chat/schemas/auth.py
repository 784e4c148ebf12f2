"""The Better-auth wire shapes (contract §2.1): request bodies in, `AuthUser`/`AuthSession` out.

Better-auth validates the sign-in body with a strict schema (a wrong or missing field is a 400
``VALIDATION_ERROR`` naming it, zod style) but does not schema-check the sign-up body: there each
field is checked by the endpoint itself, in order, with its own error (see `chat.services.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from chat.models import AuthSession, User
from retrochat.errors import BadRequest
from retrochat.timefmt import iso_z


class AuthUserOut(TypedDict):
    id: str
    name: str
    email: str
    emailVerified: bool
    image: str | None
    createdAt: str
    updatedAt: str


class AuthSessionOut(TypedDict):
    id: str
    token: str
    userId: str
    expiresAt: str
    createdAt: str
    updatedAt: str
    ipAddress: str | None
    userAgent: str | None


def auth_user(user: User) -> AuthUserOut:
    return {
        "id": user.pk,
        "name": user.name,
        "email": user.email,
        "emailVerified": user.email_verified,
        "image": user.image,
        "createdAt": iso_z(user.created_at),
        "updatedAt": iso_z(user.updated_at),
    }


def auth_session(session: AuthSession, token: str) -> AuthSessionOut:
    """The session as get-session shows it; ``token`` is the raw token (the socket handshake needs it)."""
    return {
        "id": session.pk,
        "token": token,
        "userId": session.user_id,
        "expiresAt": iso_z(session.expires_at),
        "createdAt": iso_z(session.created_at),
        "updatedAt": iso_z(session.updated_at),
        "ipAddress": session.ip_address,
        "userAgent": session.user_agent,
    }


def js_type(value: object) -> str:
    """How zod names the type of a JSON value in its messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_MISSING = object()


def _expect(errors: list[str], body: dict[str, Any], key: str, kind: str, *, optional: bool) -> Any:
    value = body.get(key, _MISSING)
    if value is _MISSING:
        if not optional:
            errors.append(f"[body.{key}] Invalid input: expected {kind}, received undefined")
        return None
    if js_type(value) != kind:
        errors.append(f"[body.{key}] Invalid input: expected {kind}, received {js_type(value)}")
        return None
    return value


def validation_error(message: str) -> BadRequest:
    return BadRequest(message, code="VALIDATION_ERROR")


@dataclass(frozen=True)
class SignInIn:
    email: str
    password: str
    callback_url: str | None
    remember_me: bool


def parse_sign_in(body: object) -> SignInIn:
    """``{email: string, password: string, callbackURL?: string, rememberMe?: boolean}``, else 400."""
    if not isinstance(body, dict):
        raise validation_error(f"[body] Invalid input: expected object, received {_body_type(body)}")
    errors: list[str] = []
    email = _expect(errors, body, "email", "string", optional=False)
    password = _expect(errors, body, "password", "string", optional=False)
    callback_url = _expect(errors, body, "callbackURL", "string", optional=True)
    remember_me = _expect(errors, body, "rememberMe", "boolean", optional=True)
    if errors:
        raise validation_error("; ".join(errors))
    return SignInIn(email=email, password=password, callback_url=callback_url, remember_me=remember_me is not False)


@dataclass(frozen=True)
class SignUpIn:
    """Loosely typed on purpose: the service answers each bad field with Better-auth's error."""

    name: str | None
    email: str
    password: str
    image: str | None
    callback_url: str | None
    remember_me: bool


def parse_sign_up(body: object) -> SignUpIn:
    data: dict[str, Any] = body if isinstance(body, dict) else {}

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    return SignUpIn(
        name=text("name"),
        email=text("email") or "",
        password=text("password") or "",
        image=text("image"),
        callback_url=text("callbackURL"),
        remember_me=data.get("rememberMe") is not False,
    )


def _body_type(body: object) -> str:
    return "undefined" if body is _NO_BODY else js_type(body)


_NO_BODY = object()
NO_BODY: object = _NO_BODY
"""What the view passes when the request had no (parsable) body."""
