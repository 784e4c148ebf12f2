"""The REST API object: authentication, error bodies and the app routers.

Error bodies follow the contract (§0): app routes answer ``{statusCode, message, error}``, an
unauthenticated request ``{"code": "UNAUTHORIZED", "message": "Unauthorized"}``. Body validation
errors are worded like the original's class-validator messages (``"name should not be empty"``,
``"property x should not exist"``), collected in a ``message`` array.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from chat.sessions import ResolvedSession, resolve_request
from retrochat.errors import DomainError, Forbidden, RateLimited
from retrochat.observability.context import bind_user

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def request_origin(request: HttpRequest) -> str | None:
    """The Origin header, else the origin part of the Referer."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = request.headers.get("Referer")
    if referer:
        scheme, _, rest = referer.partition("://")
        if rest:
            return f"{scheme}://{rest.split('/', 1)[0]}"
    return None


def session_auth(request: HttpRequest) -> ResolvedSession | None:
    """Ninja auth callable: the cookie session; mutating calls must come from a trusted origin."""
    resolved = resolve_request(request)
    if resolved is None:
        return None
    if request.method in UNSAFE_METHODS:
        origin = request_origin(request)
        # Browsers always send Origin on cross-origin writes; non-browser clients send none.
        if origin is not None and origin not in settings.TRUSTED_ORIGINS:
            raise Forbidden("Invalid origin")
    request.user = resolved.user
    bind_user(resolved.user.id)  # log lines of this request carry the user id
    return resolved


def current(request: HttpRequest) -> ResolvedSession:
    """The authenticated session of a request that passed `session_auth`."""
    auth = request.auth  # type: ignore[attr-defined]
    assert isinstance(auth, ResolvedSession)
    return auth


def error_body(status: int, message: str | list[str]) -> dict[str, Any]:
    return {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path", "form", "file")]
    return ".".join(parts) or "body"


def validation_messages(errors: list[dict[str, Any]]) -> list[str]:
    """Pydantic errors worded like class-validator (the original's messages)."""
    messages: list[str] = []
    for err in errors:
        field = _field_name(err.get("loc", ()))
        kind = err.get("type", "")
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            messages.append(f"property {field} should not exist")
        elif kind == "missing":
            messages.append(f"{field} should not be empty")
        elif kind == "string_too_short":
            if ctx.get("min_length") == 1:
                messages.append(f"{field} should not be empty")
            else:
                messages.append(f"{field} must be longer than or equal to {ctx.get('min_length')} characters")
        elif kind == "string_too_long":
            messages.append(f"{field} must be shorter than or equal to {ctx.get('max_length')} characters")
        elif kind in ("string_type", "string_sub_type"):
            messages.append(f"{field} must be a string")
        elif kind in ("bool_type", "bool_parsing"):
            messages.append(f"{field} must be a boolean value")
        elif kind == "list_type":
            messages.append(f"{field} must be an array")
        elif kind == "too_short" and ctx.get("min_length") is not None:
            messages.append(f"{field} must contain at least {ctx.get('min_length')} elements")
        elif kind in ("json_invalid", "model_attributes_type", "dict_type", "model_type"):
            messages.append("Request body must be a JSON object")
        elif kind == "value_error":
            messages.append(str(ctx.get("error") or err.get("msg")))
        else:
            messages.append(f"{field}: {err.get('msg', 'is invalid')}")
    return list(dict.fromkeys(messages))


api = NinjaAPI(
    title="RetroChat API",
    version="1.0.0",
    description="REST API of the RetroChat backend (the realtime side is Socket.IO at /socket.io/).",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/docs-json",
    auth=session_auth,
)


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    """Any /api path no route matches (mounted after the API in `retrochat.urls`)."""
    return JsonResponse(error_body(404, f"Cannot {request.method} {request.path}"), status=404)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return JsonResponse({"code": "UNAUTHORIZED", "message": "Unauthorized"}, status=401)


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = JsonResponse(error_body(exc.status, exc.message), status=exc.status)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return JsonResponse(error_body(exc.status, exc.message), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return JsonResponse(error_body(400, validation_messages(exc.errors)), status=400)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return JsonResponse(error_body(exc.status_code, str(exc)), status=exc.status_code)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return JsonResponse(error_body(404, str(exc) or "Not Found"), status=404)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return JsonResponse({"statusCode": 500, "message": "Internal server error"}, status=500)
