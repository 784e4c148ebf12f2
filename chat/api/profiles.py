"""REST endpoints: profiles and user search (contract §3.3, §7)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from chat.schemas.profiles import ProfileSetupIn, ProfileUpdateIn, user_profile
from chat.selectors import profiles as selectors
from chat.services import profiles as services
from chat.uploads import read_picture
from retrochat.api import current
from retrochat.errors import BadRequest

router = Router(tags=["profiles"])

PICTURE_UPLOADED = "Profile picture uploaded successfully"
SEARCH_QUERY_REQUIRED = "Search query is required"

_PICTURE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


def json_response(body: Any, *, status: int = 200) -> HttpResponse:
    return JsonResponse(body, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


@router.post("/profile/setup", summary="Set my username, display name and status (creates the profile if missing)")
def setup(request: HttpRequest, payload: ProfileSetupIn) -> HttpResponse:
    me = current(request).user
    profile = services.profile_setup(
        user=me, username=payload.username, display_name=payload.display_name, status_message=payload.status_message
    )
    return json_response(user_profile(profile, viewer_id=me.pk), status=201)


@router.patch("/profile", summary="Change my display name and/or status message")
def update(request: HttpRequest, payload: ProfileUpdateIn) -> HttpResponse:
    me = current(request).user
    sent = payload.model_fields_set
    changes = services.ProfileChanges(
        display_name=payload.display_name,
        status_message_set="status_message" in sent,
        status_message=payload.status_message,
    )
    profile = services.profile_update(user=me, changes=changes)
    return json_response(user_profile(profile, viewer_id=me.pk))


@router.post(
    "/profile/picture",
    summary="Upload my profile picture (multipart field `file`: JPEG, PNG, GIF or WebP, at most 5 MiB)",
    openapi_extra=_PICTURE_BODY,
)
def upload_picture(request: HttpRequest) -> HttpResponse:
    me = current(request).user
    picture = read_picture(request)
    profile = services.profile_picture_set(
        user=me, content=picture.file, extension=picture.extension, absolute_url=request.build_absolute_uri
    )
    return json_response({"profilePictureUrl": profile.profile_picture_url, "message": PICTURE_UPLOADED}, status=201)


@router.get("/profile/{user_id}", summary="A user's profile (the e-mail only on my own)")
def get_profile(request: HttpRequest, user_id: str) -> HttpResponse:
    me = current(request).user
    return json_response(user_profile(selectors.profile_of_user(user_id=user_id), viewer_id=me.pk))


@router.get("/users/search", summary="Find people by username or e-mail (at most 20; not me, no AI users)")
def search(request: HttpRequest, q: str | None = None) -> HttpResponse:
    me = current(request).user
    if not q:
        raise BadRequest(SEARCH_QUERY_REQUIRED)
    rows = selectors.users_search(query=q, viewer_id=me.pk)
    return json_response([user_profile(p, viewer_id=me.pk) for p in rows])
