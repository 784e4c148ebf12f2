"""REST endpoints: direct-message history, unread count and read marking (contract §3.5).

Messages are sent over Socket.IO only (``message:send``, see chat/handlers/messages.py).
``/messages/unread`` is registered before ``/messages/{user_id}`` so that it wins.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from chat.schemas.messages import message_out
from chat.selectors import messages as selectors
from chat.services import messages as services
from retrochat.api import current

router = Router(tags=["messages"])


@router.get("/messages/unread", summary="Number of direct messages to me not marked read")
def unread(request: HttpRequest) -> HttpResponse:
    me = current(request).user
    return JsonResponse({"count": selectors.unread_count(user_id=me.pk)})


@router.post("/messages/read/{message_id}", summary="Mark a message sent to me as read")
def mark_read(request: HttpRequest, message_id: str) -> HttpResponse:
    me = current(request).user
    services.message_mark_read(message_id=message_id, user_id=me.pk)
    response = HttpResponse(status=201)
    del response["Content-Type"]  # an empty body, like the original (no JSON content type)
    return response


@router.get("/messages/{user_id}", summary="Conversation with a user, oldest first")
def history(
    request: HttpRequest,
    user_id: str,
    limit: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> HttpResponse:
    """Newest ``limit`` (1..100, default 50) messages; ``before``/``after`` page by message id."""
    me = current(request).user
    page = selectors.conversation_page(
        user_id=me.pk,
        other_id=user_id,
        limit=selectors.clamp_limit(limit),
        before=before or None,
        after=after or None,
    )
    return JsonResponse([message_out(m) for m in page], safe=False, json_dumps_params={"ensure_ascii": False})
