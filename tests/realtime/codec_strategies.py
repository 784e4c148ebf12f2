"""Hypothesis strategies shared by the codec fuzz and oracle tests: valid packets of both layers."""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import strategies as st

from retrochat.realtime.eio import EioPacket, EioType
from retrochat.realtime.sio import RESERVED_EVENTS, SioPacket, SioType

SURROGATES: list[Literal["Cs"]] = ["Cs"]
CONTROLS_AND_SURROGATES: list[Literal["Cc", "Cs"]] = ["Cc", "Cs"]

# Text without surrogates: a str that can travel as UTF-8.
TEXT_CHARS = st.characters(exclude_categories=SURROGATES)
text = st.text(TEXT_CHARS, max_size=12)

keys = text.filter(lambda key: key != "_placeholder")
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)


def json_values(*, binary: bool = False) -> st.SearchStrategy[Any]:
    """JSON values; with ``binary``, bytes may appear at any depth."""
    leaves = scalars | st.binary(max_size=16) if binary else scalars
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
        max_leaves=12,
    )


MAX_GENERATED_ATTACHMENTS = 64
"""Generated EVENT / ACK data can hold more binary leaves than the decoder's default limit (10)."""

json_objects = st.dictionaries(keys, json_values(), max_size=4)
event_names = text.filter(lambda name: name not in RESERVED_EVENTS)
ack_ids = st.none() | st.integers(min_value=0, max_value=9_999_999_999)
# No "?" (python-socketio strips a query from namespaces), no "," (ends the namespace), no control chars.
namespaces = st.just("/") | st.text(
    st.characters(exclude_categories=CONTROLS_AND_SURROGATES, exclude_characters=",?"), min_size=1, max_size=10
).map(lambda name: "/" + name)


@st.composite
def sio_packets(draw: st.DrawFn, *, binary: bool = True) -> SioPacket:
    """Valid Socket.IO packets as an application would build them (bytes in EVENT / ACK data)."""
    ptype = draw(
        st.sampled_from([SioType.CONNECT, SioType.DISCONNECT, SioType.EVENT, SioType.ACK, SioType.CONNECT_ERROR])
    )
    namespace = draw(namespaces)
    args = st.lists(json_values(binary=binary), max_size=4)
    if ptype is SioType.CONNECT:
        return SioPacket(ptype, namespace, draw(st.none() | json_objects))
    if ptype is SioType.DISCONNECT:
        return SioPacket(ptype, namespace)
    if ptype is SioType.EVENT:
        return SioPacket(ptype, namespace, [draw(event_names), *draw(args)], draw(ack_ids))
    if ptype is SioType.ACK:
        return SioPacket(ptype, namespace, draw(args), draw(ack_ids.filter(lambda i: i is not None)))
    return SioPacket(ptype, namespace, draw(json_objects | text))


@st.composite
def eio_packets(draw: st.DrawFn, *, framable: bool = True) -> EioPacket:
    """Valid Engine.IO packets: data only where the type carries it.

    ``framable``: no record separator in text, so that the packet fits in a polling payload.
    """
    chars = st.characters(exclude_categories=SURROGATES, exclude_characters="\x1e" if framable else "")
    ptype = draw(st.sampled_from(list(EioType)))
    if ptype is EioType.MESSAGE:
        return EioPacket(ptype, draw(st.binary(max_size=32) | st.text(chars, max_size=32)))
    if ptype in (EioType.CLOSE, EioType.UPGRADE, EioType.NOOP):
        return EioPacket(ptype)
    return EioPacket(ptype, draw(st.none() | st.text(chars, min_size=1, max_size=32)))


def normalized(value: Any) -> Any:
    """JSON value as JavaScript sees it: one number type, arrays for tuples, bytes for any buffer."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [normalized(item) for item in value]
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    raise TypeError(type(value))


def count_binary(value: Any) -> int:
    if isinstance(value, bytes | bytearray | memoryview):
        return 1
    if isinstance(value, list | tuple):
        return sum(count_binary(item) for item in value)
    if isinstance(value, dict):
        return sum(count_binary(item) for item in value.values())
    return 0


def expected_after_round_trip(packet: SioPacket) -> SioPacket:
    """What decoding (and assembling) an encoded ``packet`` must give back."""
    attachments = count_binary(packet.data)
    ptype = packet.type
    if attachments and ptype is SioType.EVENT:
        ptype = SioType.BINARY_EVENT
    elif attachments and ptype is SioType.ACK:
        ptype = SioType.BINARY_ACK
    return SioPacket(ptype, packet.namespace, normalized(packet.data), packet.id, attachments)
