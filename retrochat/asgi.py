"""ASGI entry point: HTTP goes to Django, Socket.IO (both transports) to the realtime engine.

``/socket.io/`` (long-polling and WebSocket) is served by `retrochat.realtime.transports`; in
conformance mode ``/engine.io/`` too. Every other HTTP request goes to Django; every other
WebSocket is refused.
"""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrochat.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from retrochat.realtime.transports.routing import RealtimeHttp, RealtimeWebSocket  # noqa: E402

application = ProtocolTypeRouter({"http": RealtimeHttp(django_asgi_app), "websocket": RealtimeWebSocket()})

# Everything loaded by now lives as long as the process: keep it out of the garbage collector's
# full collections, which otherwise rescan all of it and stalled the event loop for up to ~90 ms
# at a time under load (docs/BENCHMARKS.md).
gc.freeze()
