"""Reference server: python-socketio's AsyncServer (ASGI, on uvicorn) with RetroChat's events, in memory.

    BENCH_FIXTURE=bench/var/fixture.json uvicorn bench.peers.pysio_server:app --port 3201 --no-access-log
    # two processes behind Redis: BENCH_REDIS_URL=redis://127.0.0.1:6379/0 on each

The same events and payloads as RetroChat (contract §4), without a database: users, tokens,
friendships and the group come from the bench fixture (`manage.py bench_setup`), messages get an
id and a timestamp and are forgotten. Authentication is on (``auth.token`` must be a fixture
token, else CONNECT_ERROR ``Unauthorized``); presence is kept per process like RetroChat's
single-worker store.

- connect: join ``user.<id>``; ``user:status-batch`` of the friends; ``user:status`` online to friends.
- ``message:send`` ``{toUserId, content}`` → ``message:receive`` to the recipient's room,
  ``message:sent`` to the sender's room, ack = the Message.
- ``group:message:send`` ``{groupId, content}`` → ``group:message:receive`` to every other member's
  room, ``group:message:sent`` to the sender's, ack = the GroupMessage.
- ``user:check-status`` ``{userIds}`` → ``user:status-batch`` to the socket and as the ack.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import socketio

FIXTURE = json.loads(Path(os.environ.get("BENCH_FIXTURE", "bench/var/fixture.json")).read_text())
USER_OF_TOKEN: dict[str, str] = {u["token"]: u["id"] for u in FIXTURE["users"]}
FRIENDS: dict[str, set[str]] = {uid: set(ids) for uid, ids in FIXTURE["friends"].items()}
GROUP_ID: str = FIXTURE["group"]["id"]
GROUP_MEMBERS: list[str] = FIXTURE["group"]["members"]
SENDER_CARD = {
    uid: {"id": uid, "username": uid.replace("-", ""), "displayName": uid, "profilePictureUrl": None}
    for uid in GROUP_MEMBERS
}

redis_url = os.environ.get("BENCH_REDIS_URL")
manager = socketio.AsyncRedisManager(redis_url, channel="bench-pysio") if redis_url else None
sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", client_manager=manager)
app = socketio.ASGIApp(sio)

online: dict[str, int] = {}  # user id -> sockets in this process


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _room(user_id: str) -> str:
    return f"user.{user_id}"


@sio.event  # type: ignore[untyped-decorator]
async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    user_id = USER_OF_TOKEN.get(token) if isinstance(token, str) else None
    if user_id is None:
        raise socketio.exceptions.ConnectionRefusedError("Unauthorized")
    await sio.save_session(sid, {"user_id": user_id})
    await sio.enter_room(sid, _room(user_id))
    friends = FRIENDS.get(user_id, set())
    first = online.get(user_id, 0) == 0
    online[user_id] = online.get(user_id, 0) + 1
    if first:
        for friend in friends:
            await sio.emit("user:status", {"userId": user_id, "status": "online"}, room=_room(friend))
    statuses = [{"userId": f, "status": "online" if online.get(f) else "offline"} for f in friends]
    await sio.emit("user:status-batch", {"statuses": statuses}, to=sid)


@sio.event  # type: ignore[untyped-decorator]
async def disconnect(sid: str, *args: Any) -> None:
    session = await sio.get_session(sid)
    user_id = session.get("user_id")
    if user_id is None:
        return
    online[user_id] = online.get(user_id, 1) - 1
    if online[user_id] <= 0:
        del online[user_id]
        for friend in FRIENDS.get(user_id, set()):
            await sio.emit("user:status", {"userId": user_id, "status": "offline"}, room=_room(friend))


@sio.on("message:send")  # type: ignore[untyped-decorator]
async def message_send(sid: str, data: Any) -> dict[str, Any]:
    user_id = (await sio.get_session(sid))["user_id"]
    to = data.get("toUserId") if isinstance(data, dict) else None
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, str) or not content.strip():
        return {"error": {"code": "bad_request", "message": "Message content cannot be empty"}}
    if to not in FRIENDS.get(user_id, set()):
        return {"error": {"code": "forbidden", "message": "You can only send messages to your friends"}}
    message = {
        "id": str(uuid.uuid4()),
        "fromUserId": user_id,
        "toUserId": to,
        "content": content.strip(),
        "timestamp": _now(),
        "isRead": False,
        "isAIGenerated": False,
    }
    await sio.emit("message:receive", message, room=_room(to))
    await sio.emit("message:sent", message, room=_room(user_id))
    return message


@sio.on("group:message:send")  # type: ignore[untyped-decorator]
async def group_message_send(sid: str, data: Any) -> dict[str, Any]:
    user_id = (await sio.get_session(sid))["user_id"]
    group_id = data.get("groupId") if isinstance(data, dict) else None
    content = data.get("content") if isinstance(data, dict) else None
    if group_id != GROUP_ID or user_id not in SENDER_CARD:
        return {"error": {"code": "forbidden", "message": "You are not a member of this group"}}
    if not isinstance(content, str) or not content.strip():
        return {"error": {"code": "bad_request", "message": "Message content cannot be empty"}}
    message = {
        "id": str(uuid.uuid4()),
        "groupId": group_id,
        "fromUserId": user_id,
        "content": content.strip(),
        "timestamp": _now(),
        "isAIGenerated": False,
        "mentionedUserIds": [],
        "fromUser": SENDER_CARD[user_id],
    }
    others = [_room(m) for m in GROUP_MEMBERS if m != user_id]
    await sio.emit("group:message:receive", message, room=others)
    await sio.emit("group:message:sent", message, room=_room(user_id))
    return message


@sio.on("user:check-status")  # type: ignore[untyped-decorator]
async def check_status(sid: str, data: Any) -> dict[str, Any]:
    user_id = (await sio.get_session(sid))["user_id"]
    wanted = data.get("userIds") if isinstance(data, dict) else None
    if not isinstance(wanted, list):
        return {"error": {"code": "bad_request", "message": "userIds must be an array"}}
    friends = FRIENDS.get(user_id, set())
    batch = {
        "statuses": [
            {"userId": uid, "status": "online" if uid in friends and online.get(uid) else "offline"} for uid in wanted
        ]
    }
    await sio.emit("user:status-batch", batch, to=sid)
    return batch
