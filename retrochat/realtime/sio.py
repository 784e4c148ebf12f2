"""Socket.IO v5 packet codec: pure functions, no I/O.

A packet is written (socket.io-protocol v5)::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]

- ``type`` is one digit (`SioType`); ``attachments`` only on BINARY_EVENT / BINARY_ACK;
  the namespace is omitted when it is ``/``; the ack id is a decimal integer.
- Examples: ``0``, ``0/admin,{"sid":"x"}``, ``2["ev",1]``, ``212["ev"]`` (ack id 12), ``3/ns,5[1]``,
  ``51-["ev",{"_placeholder":true,"num":0}]`` (followed by one binary attachment), ``1``, ``1/ns,``.
  On input a namespace without payload may omit the comma (``0/custom``). Each text packet travels
  as the data of an Engine.IO MESSAGE, so on the wire they read ``40``, ``42["ev",1]``, ``41/ns,``…
- Binary values travel as attachments: each is replaced in the JSON by
  ``{"_placeholder":true,"num":<index>}`` and sent as its own binary frame after the text packet
  (or as a ``b``-base64 Engine.IO packet over long-polling). `BinaryAssembler` puts them back.

JSON is written compactly, keeps key order and does not escape non-ASCII, like JavaScript's
``JSON.stringify`` (numbers are formatted the way JavaScript formats them; non-finite numbers
become ``null``). The decoder is strict: anything the reference parser would refuse, and the
ambiguous input it would guess at, raises `CodecError`.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from retrochat.realtime.eio import CodecError

__all__ = [
    "RESERVED_EVENTS",
    "BinaryAssembler",
    "CodecError",
    "SioPacket",
    "SioType",
    "decode",
    "dumps",
    "encode",
    "is_placeholder",
    "loads",
]


class SioType(enum.IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
"""Event names the Socket.IO clients and servers reserve: never sent or accepted as events."""

MAX_NAMESPACE_LENGTH = 256
"""Default bound on a namespace's length when decoding."""

_BINARY_TYPES = frozenset({SioType.BINARY_EVENT, SioType.BINARY_ACK})
_EVENT_TYPES = frozenset({SioType.EVENT, SioType.BINARY_EVENT})
_ACK_TYPES = frozenset({SioType.ACK, SioType.BINARY_ACK})
_TYPE_BY_CHAR = {str(int(t)): t for t in SioType}
_DIGITS = re.compile(r"[0-9]+")
_NAMESPACE = re.compile(r"/[^,\x00-\x1f\x7f]*")
_JSON_WHITESPACE = " \t\n\r"
_BINARY_VALUE = (bytes, bytearray, memoryview)


@dataclass(slots=True)
class SioPacket:
    type: SioType
    namespace: str = "/"
    data: Any = None  # JSON value; for binary types AFTER reassembly contains bytes in place
    id: int | None = None  # ack id
    attachments: int = 0  # for BINARY_* as decoded from the header


# --------------------------------------------------------------------------------------------
# JSON


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?')
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def _js_number(value: float) -> str:
    """``value`` as JavaScript's ``Number.prototype.toString`` writes it (non-finite → ``null``)."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + (int(exp_text) if exp_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exponent = n - 1
    exp_sign = "+" if exponent >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{head}e{exp_sign}{abs(exponent)}"


def _has_float(value: Any) -> bool:
    """Whether a float occurs anywhere in ``value`` (iterative, cheap for the usual small payloads)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if isinstance(item, float):
            return True
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def _fix_number(match: re.Match[str]) -> str:
    token = match.group()
    if token[0] == '"' or not any(c in token for c in ".eE"):
        return token
    return _js_number(float(token))


def _fix_surrogates(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 2:  # a well-formed pair held as two code units: the character it stands for
        return chr(0x10000 + ((ord(text[0]) - 0xD800) << 10) + (ord(text[1]) - 0xDC00))
    return f"\\u{ord(text):04x}"  # a lone surrogate: escaped, as JSON.stringify does


def _finite(value: Any) -> Any:
    """A copy of ``value`` with NaN and infinities replaced by None (JSON.stringify writes null)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def _dumps(value: Any, default: Callable[[Any], Any] | None, reset: Callable[[], None] | None = None) -> str:
    def encode(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=default)

    try:
        try:
            text = encode(value)
        except ValueError:  # NaN / Infinity (or a reference cycle, which the retry reports)
            if reset is not None:
                reset()
            text = encode(_finite(value))
    except CodecError:
        raise
    except (TypeError, ValueError, RecursionError) as exc:
        raise CodecError(f"value cannot be written as JSON: {exc}") from exc
    if _has_float(value):  # Python writes 1.0 / 1e+16 / 1e-05 where JavaScript writes 1 / 10000000000000000 / 0.00001
        text = _JSON_TOKEN.sub(_fix_number, text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # surrogate code units: only JSON escapes can carry them
            text = _SURROGATES.sub(_fix_surrogates, text)
    return text


def dumps(value: Any) -> str:
    """Compact JSON, keeps key order, no ASCII escaping (like JS ``JSON.stringify``)."""
    return _dumps(value, None)


@dataclass(frozen=True, slots=True)
class EncodedJson:
    """A JSON value encoded once with `dumps`, written to the wire as it is: the payload that
    ``message:receive``, ``message:sent`` and the sender's ack of one message share. (Not a
    ``str``: anything that does not know it fails loudly instead of quoting it as a string.)"""

    text: str

    @classmethod
    def of(cls, value: Any) -> EncodedJson:
        return cls(dumps(value))


def _reject_constant(name: str) -> Any:
    raise CodecError(f"{name} is not JSON")


# One decoder for every packet: ``json.loads`` with a keyword argument builds a new one per call.
_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def loads(text: str) -> Any:
    """Strict JSON (no NaN / Infinity); anything else raises `CodecError`."""
    try:
        return _decoder.decode(text)
    except CodecError:
        raise
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"invalid JSON payload: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Payload rules shared by the encoder and the decoder


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` claims to be an attachment placeholder (``{"_placeholder": true, ...}``)."""
    return isinstance(value, dict) and value.get("_placeholder") is True


def _placeholder_num(value: dict[Any, Any]) -> int:
    num = value.get("num")
    if len(value) != 2 or not isinstance(num, int) or isinstance(num, bool):
        raise CodecError("malformed attachment placeholder")
    return num


def _check_payload(ptype: SioType, data: Any, has_data: bool, ack_id: int | None) -> None:
    if ptype in _EVENT_TYPES:
        if not has_data or not isinstance(data, list | tuple) or not data:
            raise CodecError("an event payload must be a non-empty array")
        name = data[0]
        if not isinstance(name, str):
            raise CodecError("an event name must be a string")
        if name in RESERVED_EVENTS:
            raise CodecError(f"{name!r} is a reserved event name")
    elif ptype in _ACK_TYPES:
        if ack_id is None:
            raise CodecError("an ack needs an ack id")
        if not has_data or not isinstance(data, list | tuple):
            raise CodecError("an ack payload must be an array")
    elif ptype is SioType.CONNECT:
        if has_data and not isinstance(data, dict):
            raise CodecError("a CONNECT payload must be an object")
    elif ptype is SioType.CONNECT_ERROR:
        if not has_data or not isinstance(data, dict | str):
            raise CodecError("a CONNECT_ERROR payload must be an object or a string")
    elif has_data:  # DISCONNECT
        raise CodecError("a DISCONNECT packet carries no payload")
    if ack_id is not None and ptype not in _EVENT_TYPES and ptype not in _ACK_TYPES:
        raise CodecError(f"a {ptype.name} packet carries no ack id")


def _check_namespace(namespace: Any, max_length: int | None) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise CodecError(f"invalid namespace {namespace!r}")
    if max_length is not None and len(namespace) > max_length:
        raise CodecError("namespace too long")
    return namespace


def _copy_with_slots(data: Any) -> tuple[Any, list[tuple[Any, Any, int]]]:
    """A deep copy of the lists/dicts of ``data`` and the (container, key, num) of every placeholder.

    Iterative, so that the deepest structure the JSON decoder accepts cannot overflow the stack.
    """
    root: list[Any] = [data]
    slots: list[tuple[Any, Any, int]] = []
    stack: list[tuple[Any, Any, Any]] = [(root, 0, data)]
    while stack:
        parent, key, node = stack.pop()
        if isinstance(node, dict):
            if is_placeholder(node):
                slots.append((parent, key, _placeholder_num(node)))
                continue
            copied_dict = dict(node)
            parent[key] = copied_dict
            stack.extend((copied_dict, k, v) for k, v in copied_dict.items() if isinstance(v, dict | list | tuple))
        elif isinstance(node, list | tuple):
            copied_list = list(node)
            parent[key] = copied_list
            stack.extend((copied_list, i, v) for i, v in enumerate(copied_list) if isinstance(v, dict | list | tuple))
    return root[0], slots


def _check_slots(slots: list[tuple[Any, Any, int]], attachments: int) -> None:
    seen: set[int] = set()
    for _, _, num in slots:
        if not 0 <= num < attachments:
            raise CodecError(f"attachment placeholder {num} out of range")
        if num in seen:
            raise CodecError(f"attachment placeholder {num} used twice")
        seen.add(num)
    if len(seen) != attachments:
        raise CodecError(f"{attachments} attachments announced, {len(seen)} placeholders found")


# --------------------------------------------------------------------------------------------
# Encoder


def encode(packet: SioPacket) -> list[str | bytes]:
    """The frames of ``packet``: the text packet, then its binary attachments (if any).

    Bytes anywhere in an EVENT / ACK payload make it a BINARY_EVENT / BINARY_ACK with placeholders
    (numbered in document order, like the reference encoder); a BINARY_* packet without bytes is
    written as the plain type. Invalid packets raise `CodecError`.
    """
    try:
        ptype = SioType(packet.type)
    except ValueError as exc:
        raise CodecError(f"unknown packet type {packet.type!r}") from exc
    namespace = _check_namespace(packet.namespace, max_length=None)
    ack_id = packet.id
    if ack_id is not None and (not isinstance(ack_id, int) or isinstance(ack_id, bool) or ack_id < 0):
        raise CodecError(f"invalid ack id {ack_id!r}")
    has_data = packet.data is not None
    _check_payload(ptype, packet.data, has_data, ack_id)

    attachments: list[bytes] = []

    def placeholder(value: Any) -> Any:
        if isinstance(value, _BINARY_VALUE):
            attachments.append(bytes(value))
            return {"_placeholder": True, "num": len(attachments) - 1}
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    payload = _dumps(packet.data, placeholder, attachments.clear) if has_data else ""
    if attachments:
        if payload.count('"_placeholder":true') != len(attachments):
            # an object of the data itself would be taken for a placeholder by the receiver
            raise CodecError("binary data must not contain objects with a true '_placeholder' key")
        if ptype in _EVENT_TYPES:
            ptype = SioType.BINARY_EVENT
        elif ptype in _ACK_TYPES:
            ptype = SioType.BINARY_ACK
        else:
            raise CodecError(f"a {ptype.name} packet cannot carry binary data")
    elif ptype is SioType.BINARY_EVENT:
        ptype = SioType.EVENT
    elif ptype is SioType.BINARY_ACK:
        ptype = SioType.ACK

    parts = [str(int(ptype))]
    if attachments:
        parts.append(f"{len(attachments)}-")
    if namespace != "/":
        parts.append(namespace + ",")
    if ack_id is not None:
        parts.append(str(ack_id))
    parts.append(payload)
    frames: list[str | bytes] = ["".join(parts)]
    frames.extend(attachments)
    return frames


# --------------------------------------------------------------------------------------------
# Decoder


def decode(
    text: str,
    *,
    max_ack_id_digits: int = 10,
    max_attachments: int = 10,
    max_namespace_length: int = MAX_NAMESPACE_LENGTH,
) -> SioPacket:
    """One text packet. BINARY_* packets come back with placeholders in ``data``: feed the binary
    frames that follow to a `BinaryAssembler`.

    Strict, per socket.io-protocol v5: an unknown type, a malformed attachment count (missing,
    zero, leading zero) or one above ``max_attachments``, a namespace with a control character or
    longer than ``max_namespace_length``, an ack id with a leading zero, longer than
    ``max_ack_id_digits`` or on a packet type that has none, JSON that is invalid or has anything
    around it, an EVENT payload that is not a non-empty array starting with a (non-reserved) string,
    an ACK without id or array payload, a CONNECT payload that is not an object, a CONNECT_ERROR
    payload that is neither object nor string, a DISCONNECT with a payload, placeholders that do not
    match the attachment count — all raise `CodecError`.
    """
    if not isinstance(text, str):
        raise CodecError(f"cannot decode a {type(text).__name__} as a Socket.IO packet")
    if not text:
        raise CodecError("empty packet")
    ptype = _TYPE_BY_CHAR.get(text[0])
    if ptype is None:
        raise CodecError(f"unknown packet type {text[0]!r}")
    pos = 1
    attachments = 0
    if ptype in _BINARY_TYPES:
        match = _DIGITS.match(text, pos)
        if match is None or not text.startswith("-", match.end()):
            raise CodecError("missing attachment count")
        count = match.group()
        if len(count) > 1 and count[0] == "0":
            raise CodecError("attachment count with a leading zero")
        if len(count) > len(str(max_attachments)) or int(count) > max_attachments:
            raise CodecError("too many attachments")
        attachments = int(count)
        if attachments < 1:
            raise CodecError("a binary packet announces at least one attachment")
        pos = match.end() + 1

    namespace = "/"
    if text.startswith("/", pos):
        comma = text.find(",", pos)
        end = len(text) if comma < 0 else comma
        namespace = _check_namespace(text[pos:end], max_namespace_length)
        pos = end if comma < 0 else end + 1

    ack_id: int | None = None
    match = _DIGITS.match(text, pos)
    if match is not None:
        if len(match.group()) > max_ack_id_digits:
            raise CodecError("ack id too long")
        if len(match.group()) > 1 and match.group()[0] == "0":
            raise CodecError("ack id with a leading zero")
        ack_id = int(match.group())
        pos = match.end()

    payload = text[pos:]
    has_data = bool(payload)
    data: Any = None
    if has_data:
        if payload[0] in _JSON_WHITESPACE or payload[-1] in _JSON_WHITESPACE:
            raise CodecError("unexpected whitespace around the payload")
        data = loads(payload)
    _check_payload(ptype, data, has_data, ack_id)
    if ptype in _BINARY_TYPES:
        _, slots = _copy_with_slots(data)
        _check_slots(slots, attachments)
    return SioPacket(ptype, namespace, data, ack_id, attachments)


class BinaryAssembler:
    """Collects the binary attachments that follow a BINARY_EVENT / BINARY_ACK header.

    ``add`` each binary frame in arrival order; the last one returns the complete packet with every
    placeholder replaced by its bytes (the given packet is left untouched). A text packet arriving
    before the last attachment is a protocol error for the caller to handle.
    """

    __slots__ = ("_buffers", "_data", "_packet", "_slots")

    def __init__(self, packet: SioPacket) -> None:
        if packet.type not in _BINARY_TYPES:
            raise CodecError(f"a {SioType(packet.type).name} packet has no attachments")
        if packet.attachments < 1:
            raise CodecError("a binary packet announces at least one attachment")
        self._data, self._slots = _copy_with_slots(packet.data)
        _check_slots(self._slots, packet.attachments)
        self._packet = packet
        self._buffers: list[bytes] = []

    @property
    def expected(self) -> int:
        return self._packet.attachments

    @property
    def received(self) -> int:
        return len(self._buffers)

    @property
    def complete(self) -> bool:
        return len(self._buffers) == self._packet.attachments

    def add(self, data: bytes | bytearray | memoryview) -> SioPacket | None:
        """Take the next attachment; the complete packet once all arrived, else None."""
        if not isinstance(cast("object", data), _BINARY_VALUE):
            raise CodecError(f"an attachment must be bytes, not {type(data).__name__}")
        if len(self._buffers) >= self._packet.attachments:
            raise CodecError("unexpected binary attachment")
        self._buffers.append(bytes(data))
        if len(self._buffers) < self._packet.attachments:
            return None
        for container, key, num in self._slots:
            container[key] = self._buffers[num]
        packet = self._packet
        return SioPacket(packet.type, packet.namespace, self._data, packet.id, packet.attachments)
