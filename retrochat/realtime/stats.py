"""Asking every worker what it holds, through the channel layer (the ``online`` command).

`worker_stats` sends one ``rt.stats`` message to the all-workers group with a fresh reply
channel; each running hub answers with `server.engine_stats` plus its pid (see `hub.Hub`).
Replies that arrive within ``timeout`` seconds are returned, one per worker. Workers that are
busy or gone simply do not answer: callers compare with the shared presence store.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from channels.layers import get_channel_layer

from retrochat.realtime.addressing import WORKERS_GROUP


async def worker_stats(*, timeout: float = 1.0, layer: Any = None) -> list[dict[str, Any]]:
    """``layer``: the channel layer to ask through (default: this process's); a command passes a
    fresh instance of its own, so that it never shares a receiving layer with a running hub."""
    layer = layer if layer is not None else get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    reply_to = await layer.new_channel("stats.")
    nonce = secrets.token_hex(8)
    await layer.group_send(WORKERS_GROUP, {"type": "rt.stats", "reply_to": reply_to, "nonce": nonce})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    replies: dict[str, dict[str, Any]] = {}
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            message = await asyncio.wait_for(layer.receive(reply_to), timeout=remaining)
        except TimeoutError:
            break
        if message.get("type") == "rt.stats.reply" and message.get("nonce") == nonce:
            replies[str(message.get("worker"))] = message
    return sorted(replies.values(), key=lambda reply: str(reply.get("worker")))
