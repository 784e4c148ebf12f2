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
from django.urls import get_resolver  # noqa: E402

from retrochat.realtime.transports.routing import RealtimeHttp, RealtimeWebSocket  # noqa: E402

application = ProtocolTypeRouter({"http": RealtimeHttp(django_asgi_app), "websocket": RealtimeWebSocket()})

# Load now what Django would load on the first request (the URL conf: views, the API and its
# schemas, the admin), then keep everything loaded out of the garbage collector's full
# collections: it lives as long as the process, and rescanning it stalled the event loop for up
# to ~90 ms at a time under load (docs/BENCHMARKS.md).
get_resolver().url_patterns  # noqa: B018
gc.collect()
gc.freeze()
