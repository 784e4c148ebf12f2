"""REST endpoints: the AI friend (contract §3.6). The streamed conversation is over Socket.IO."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from aifriend import conf, selectors, services, streaming
from aifriend.schemas import AIFriendMessageIn, style_profile_out
from retrochat.api import current
from retrochat.errors import NotFound

router = Router(tags=["ai-friend"])

_JSON = {"ensure_ascii": False}


@router.post("/ai-friend/message", summary="Say something to the AI friend and get its reply (not streamed)")
async def send_message(request: HttpRequest, payload: AIFriendMessageIn) -> HttpResponse:
    """200 ``{userMessage, aiResponse}``; the same thresholds, texts and limits as the socket flow."""
    exchange = await streaming.reply_once(user_id=current(request).user.id, content=payload.content)
    return JsonResponse(exchange, status=200, json_dumps_params=_JSON)


@router.get("/ai-friend/profile", summary="My style profile as the AI friend learned it")
def profile(request: HttpRequest) -> HttpResponse:
    found = selectors.style_profile(current(request).user.id)
    if found is None:
        raise NotFound(conf.PROFILE_NOT_FOUND)
    return JsonResponse(style_profile_out(found), json_dumps_params=_JSON)


@router.post("/ai-friend/reset", summary="Forget my style: only messages from now on count")
def reset(request: HttpRequest) -> HttpResponse:
    services.style_profile_reset(user_id=current(request).user.id)
    return JsonResponse({"message": conf.PROFILE_RESET_DONE}, status=200)
