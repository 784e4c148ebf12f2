"""Domain errors shared by the REST API and the socket handlers.

Services raise these; `retrochat.api` turns them into `{statusCode, message, error}` HTTP
answers and the realtime dispatcher turns them into an ack `{"error": {"code", "message"}}`
(plus the contract's error event where one exists). Nothing else should build error bodies.
"""

from __future__ import annotations

from http import HTTPStatus


class DomainError(Exception):
    """A refusal the user caused: bad input, missing object, no permission, conflict."""

    status: int = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def as_payload(self) -> dict[str, str]:
        """The JSON-safe form used in socket acks."""
        return {"code": self.code, "message": self.message}


class BadRequest(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "bad_request"


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT
    code = "conflict"


class RateLimited(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate_limited"

    def __init__(self, message: str = "Too many requests. Please try again later.", *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unauthenticated(DomainError):
    """No valid credentials (sign-in with a wrong password, a missing session)."""

    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class Unprocessable(DomainError):
    """Well-formed but refused (Better-auth's 422s: e-mail already registered, user not creatable)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "unprocessable"
