"""The Better-auth compatible endpoints under ``/api/auth/`` (contract §2.1), mounted by `retrochat.urls`.

These speak Better-auth's dialect, not the REST API's: errors are ``{"code", "message"}`` (the
login and register forms show ``message`` verbatim), a 429 is ``{"message"}`` plus
``X-Retry-After``, and ``get-session`` answers the JSON ``null`` when signed out. They are plain
Django views: Better-auth does not schema-check every body, so the parsing is done here by hand
(`chat.schemas.auth`), and all writes go through `chat.services.auth`.

CSRF: Django's token check is replaced by Better-auth's origin check — a POST that carries a
Cookie header must come from a trusted origin (``Origin``, else ``Referer``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from chat import ratelimit
from chat.schemas.auth import NO_BODY, auth_session, auth_user, parse_sign_in, parse_sign_up
from chat.services import auth as services
from chat.sessions import (
    AUXILIARY_COOKIE_NAMES,
    COOKIE_NAME,
    SECURE_COOKIE_NAME,
    cookie_name,
    resolve_token,
    sign_token,
    token_from_cookies,
    unsign_cookie,
)
from retrochat.errors import BadRequest, DomainError, Forbidden, RateLimited

MISSING_OR_NULL_ORIGIN = "Missing or null Origin"
INVALID_ORIGIN = "Invalid origin"
INVALID_CALLBACK_URL = "Invalid callbackURL"
FAILED_TO_GET_SESSION = "Failed to get session"
DONT_REMEMBER_COOKIE = "better-auth.dont_remember"
SESSION_COOKIE_NAMES = (SECURE_COOKIE_NAME, COOKIE_NAME)
ALL_COOKIE_NAMES = (
    *SESSION_COOKIE_NAMES,
    *AUXILIARY_COOKIE_NAMES,
    *(f"__Secure-{name}" for name in AUXILIARY_COOKIE_NAMES),
)

View = Callable[[HttpRequest], HttpResponse]


# --- responses and cookies -------------------------------------------------------------------


def json_response(body: Any, *, status: int = 200) -> HttpResponse:
    response = JsonResponse(body, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def error_response(exc: DomainError) -> HttpResponse:
    if isinstance(exc, RateLimited):
        response = json_response({"message": exc.message}, status=exc.status)
        response["X-Retry-After"] = str(exc.retry_after)
        response["Retry-After"] = str(exc.retry_after)
        return response
    code = exc.code if exc.code.isupper() else services.auth_code(exc.message)
    return json_response({"code": code, "message": exc.message}, status=exc.status)


def _cookie_prefix_name(name: str) -> str:
    return f"__Secure-{name}" if settings.AUTH_COOKIE_SECURE else name


def set_session_cookie(response: HttpResponse, token: str, *, remember: bool) -> None:
    """``better-auth.session_token`` (``__Secure-`` when Secure): HttpOnly, Path=/, 7 days."""
    options: dict[str, Any] = {
        "path": "/",
        "domain": settings.AUTH_COOKIE_DOMAIN,
        "secure": settings.AUTH_COOKIE_SECURE,
        "httponly": True,
        "samesite": settings.AUTH_COOKIE_SAMESITE,
    }
    max_age = settings.AUTH_SESSION_TTL_SECONDS if remember else None
    response.set_cookie(cookie_name(), quote(sign_token(token), safe=""), max_age=max_age, **options)
    if not remember:  # a browser-session cookie; get-session then never extends the session
        response.set_cookie(_cookie_prefix_name(DONT_REMEMBER_COOKIE), quote(sign_token("true"), safe=""), **options)


def clear_auth_cookies(response: HttpResponse) -> None:
    """Expire every cookie name Better-auth uses (both prefixes)."""
    for name in ALL_COOKIE_NAMES:
        response.delete_cookie(
            name, path="/", domain=settings.AUTH_COOKIE_DOMAIN, samesite=settings.AUTH_COOKIE_SAMESITE
        )


# --- request helpers --------------------------------------------------------------------------


def read_body(request: HttpRequest) -> object:
    """The JSON (or form) body, or `NO_BODY` when there is none or it does not parse."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.POST.dict()
    raw = request.body
    if not raw.strip():
        return NO_BODY
    try:
        return json.loads(raw)
    except ValueError:
        return NO_BODY


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def user_agent(request: HttpRequest) -> str | None:
    return request.headers.get("User-Agent") or None


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_trusted_origin(url: str) -> bool:
    origin = _origin_of(url)
    return origin is not None and origin in {o.lower() for o in settings.TRUSTED_ORIGINS}


def is_trusted_callback(url: str) -> bool:
    """A same-site relative path, or an absolute URL on a trusted origin."""
    if url.startswith("/"):
        return not url.startswith(("//", "/\\")) and "\\" not in url
    return is_trusted_origin(url)


def check_origin(request: HttpRequest, body: object) -> None:
    """Better-auth's CSRF defence for cookie-bearing POSTs, and its callbackURL check."""
    if request.method == "POST" and request.META.get("HTTP_COOKIE"):
        origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
        if not origin or origin == "null":
            raise Forbidden(MISSING_OR_NULL_ORIGIN)
        if not is_trusted_origin(origin):
            raise Forbidden(INVALID_ORIGIN)
    candidates = [request.GET.get("callbackURL")]
    if isinstance(body, dict):
        candidates.append(body.get("callbackURL"))
    for callback in candidates:
        if isinstance(callback, str) and callback and not is_trusted_callback(callback):
            raise Forbidden(INVALID_CALLBACK_URL)


def auth_endpoint(*methods: str) -> Callable[[View], View]:
    """Method check, CSRF exemption (see module doc) and ``{code, message}`` error bodies."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            if request.method not in methods:
                response = json_response({"code": "METHOD_NOT_ALLOWED", "message": "Method not allowed"}, status=405)
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request)
            except DomainError as exc:
                return error_response(exc)

        return wrapper

    return decorate


def _rate_identity(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


# --- endpoints --------------------------------------------------------------------------------


@auth_endpoint("POST")
def sign_up(request: HttpRequest) -> HttpResponse:
    """POST /api/auth/sign-up/email → 200 ``{token, user}`` and the session cookie."""
    ratelimit.per_ip("sign-up").hit(_rate_identity(request))
    body = read_body(request)
    check_origin(request, body)
    data = parse_sign_up(body)
    if data.email:
        ratelimit.per_account("sign-up").hit(data.email.lower())
    signed = services.user_sign_up(
        name=data.name,
        email=data.email,
        password=data.password,
        image=data.image,
        ip_address=client_ip(request),
        user_agent=user_agent(request),
        remember_me=data.remember_me,
    )
    response = json_response({"token": signed.token, "user": auth_user(signed.user)})
    set_session_cookie(response, signed.token, remember=data.remember_me)
    return response


@auth_endpoint("POST")
def sign_in(request: HttpRequest) -> HttpResponse:
    """POST /api/auth/sign-in/email → 200 ``{redirect, token, user}`` (+ ``url``) and the cookie."""
    ratelimit.per_ip("sign-in").hit(_rate_identity(request))
    body = read_body(request)
    check_origin(request, body)
    data = parse_sign_in(body)
    account = ratelimit.per_account("sign-in")
    account.check(data.email.lower())
    try:
        signed = services.user_sign_in(
            email=data.email,
            password=data.password,
            ip_address=client_ip(request),
            user_agent=user_agent(request),
            remember_me=data.remember_me,
        )
    except DomainError:
        account.hit(data.email.lower())  # failed attempts count against the address
        raise
    payload: dict[str, Any] = {"redirect": bool(data.callback_url), "token": signed.token}
    if data.callback_url:
        payload["url"] = data.callback_url
    payload["user"] = auth_user(signed.user)
    response = json_response(payload)
    set_session_cookie(response, signed.token, remember=data.remember_me)
    return response


@auth_endpoint("GET")
def get_session(request: HttpRequest) -> HttpResponse:
    """GET /api/auth/get-session → ``{session, user}`` or ``null``; slides the expiry after a day."""
    token = token_from_cookies(request.COOKIES)
    resolved = resolve_token(token)
    if resolved is None or resolved.user.is_ai:
        response = json_response(None)
        if any(name in request.COOKIES for name in SESSION_COOKIE_NAMES):
            if token is not None:
                services.session_discard_expired(token=token)
            clear_auth_cookies(response)
        return response
    remember = not _dont_remember(request)
    disable_refresh = request.GET.get("disableRefresh", "").lower() in ("true", "1")
    refreshed = remember and not disable_refresh and services.session_refresh(session=resolved.session)
    body = {"session": auth_session(resolved.session, resolved.token), "user": auth_user(resolved.user)}
    response = json_response(body)
    if refreshed:
        set_session_cookie(response, resolved.token, remember=True)
    return response


def _dont_remember(request: HttpRequest) -> bool:
    for name in (f"__Secure-{DONT_REMEMBER_COOKIE}", DONT_REMEMBER_COOKIE):
        value = request.COOKIES.get(name)
        if value and unsign_cookie(value) == "true":
            return True
    return False


@auth_endpoint("POST")
def sign_out(request: HttpRequest) -> HttpResponse:
    """POST /api/auth/sign-out → 200 ``{success: true}``: the session row is deleted, cookies cleared."""
    check_origin(request, read_body(request))
    token = token_from_cookies(request.COOKIES)
    if token is None:
        response = error_response(BadRequest(FAILED_TO_GET_SESSION))
    else:
        services.session_revoke_token(token=token)
        response = json_response({"success": True})
    clear_auth_cookies(response)
    return response


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return json_response({"code": "NOT_FOUND", "message": "Not Found"}, status=404)


urlpatterns: list[URLPattern] = [
    path("sign-up/email", sign_up, name="auth-sign-up"),
    path("sign-in/email", sign_in, name="auth-sign-in"),
    path("get-session", get_session, name="auth-get-session"),
    path("sign-out", sign_out, name="auth-sign-out"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
