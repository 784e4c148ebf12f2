"""The transports of the realtime engine: Channels consumers speaking HTTP long-polling and WebSocket.

`routing` sends ``/socket.io/`` (and ``/engine.io/`` in conformance mode) to them; everything else
goes to Django. The consumers opt out of the per-consumer channel-layer channel that Channels
creates by default: fan-out goes through the worker hub (`retrochat.realtime.hub`).
"""
