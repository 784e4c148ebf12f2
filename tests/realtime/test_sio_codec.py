"""Socket.IO v5 codec: exact wire strings both ways (socket.io-protocol v5), strictness, binary."""

from __future__ import annotations

from typing import Any

import pytest

from retrochat.realtime.eio import CodecError, EioPacket, EioType, encode_packet, encode_payload
from retrochat.realtime.sio import (
    RESERVED_EVENTS,
    BinaryAssembler,
    SioPacket,
    SioType,
    decode,
    dumps,
    encode,
    loads,
)

PH0 = {"_placeholder": True, "num": 0}
PH1 = {"_placeholder": True, "num": 1}

# (packet, text frame) pairs that are exact both ways.
TEXT_PACKETS = [
    (SioPacket(SioType.CONNECT), "0"),
    (SioPacket(SioType.CONNECT, "/admin"), "0/admin,"),
    (SioPacket(SioType.CONNECT, data={"token": "123"}), '0{"token":"123"}'),
    (SioPacket(SioType.CONNECT, "/admin", {"sid": "x"}), '0/admin,{"sid":"x"}'),
    (SioPacket(SioType.CONNECT, data={"sid": "oSO0OpakMV_3jnilAAAA"}), '0{"sid":"oSO0OpakMV_3jnilAAAA"}'),
    (SioPacket(SioType.DISCONNECT), "1"),
    (SioPacket(SioType.DISCONNECT, "/ns"), "1/ns,"),
    (SioPacket(SioType.EVENT, data=["ev", 1]), '2["ev",1]'),
    (SioPacket(SioType.EVENT, data=["hello", "world"]), '2["hello","world"]'),
    (SioPacket(SioType.EVENT, data=["ev"], id=12), '212["ev"]'),
    (SioPacket(SioType.EVENT, data=["ev"], id=0), '20["ev"]'),
    (SioPacket(SioType.EVENT, "/admin", ["project:delete", 123], 12), '2/admin,12["project:delete",123]'),
    (SioPacket(SioType.ACK, "/ns", [1], 5), "3/ns,5[1]"),
    (SioPacket(SioType.ACK, "/admin", [], 12), "3/admin,12[]"),
    (
        SioPacket(SioType.ACK, data=[{"error": {"code": "x", "message": "y"}}], id=3),
        '33[{"error":{"code":"x","message":"y"}}]',
    ),
    (SioPacket(SioType.CONNECT_ERROR, data={"message": "Unauthorized"}), '4{"message":"Unauthorized"}'),
    (SioPacket(SioType.CONNECT_ERROR, "/ns", {"message": "Invalid namespace"}), '4/ns,{"message":"Invalid namespace"}'),
    (SioPacket(SioType.CONNECT_ERROR, data="Not authorized"), '4"Not authorized"'),
]


@pytest.mark.parametrize(("packet", "wire"), TEXT_PACKETS)
def test_packet_encodes_to_exact_wire_string(packet: SioPacket, wire: str) -> None:
    assert encode(packet) == [wire]


@pytest.mark.parametrize(("packet", "wire"), TEXT_PACKETS)
def test_packet_decodes_from_exact_wire_string(packet: SioPacket, wire: str) -> None:
    decoded = decode(wire)
    assert decoded == packet
    assert type(decoded.type) is SioType


@pytest.mark.parametrize(
    ("wire", "packet"),
    [
        # a namespace without payload may omit the comma on input
        ("0/custom", SioPacket(SioType.CONNECT, "/custom")),
        ("1/custom", SioPacket(SioType.DISCONNECT, "/custom")),
        # "/" may be written explicitly
        ('0/,{"a":1}', SioPacket(SioType.CONNECT, "/", {"a": 1})),
        # inner whitespace and escapes are fine (python-socketio writes ASCII escapes)
        ('2["caf\\u00e9", 1, {"a" : null}]', SioPacket(SioType.EVENT, data=["café", 1, {"a": None}])),
        # a placeholder-like object in a plain EVENT is just data
        ('2["ev",{"_placeholder":true,"num":0}]', SioPacket(SioType.EVENT, data=["ev", PH0])),
    ],
)
def test_lenient_but_valid_input_forms(wire: str, packet: SioPacket) -> None:
    assert decode(wire) == packet


def test_binary_event_header_and_attachments() -> None:
    frames = encode(SioPacket(SioType.EVENT, data=["hello", b"\x01\x02\x03"]))
    assert frames == ['51-["hello",{"_placeholder":true,"num":0}]', b"\x01\x02\x03"]
    assert isinstance(frames[1], bytes)

    frames = encode(SioPacket(SioType.EVENT, "/admin", ["project:delete", bytearray(b"\x01")], 7))
    assert frames == ['51-/admin,7["project:delete",{"_placeholder":true,"num":0}]', b"\x01"]


def test_binary_attachments_are_numbered_in_document_order_through_nesting() -> None:
    data = ["ev", {"a": b"A", "b": [1, {"c": b"C"}], "d": (b"D",)}, memoryview(b"E")]
    frames = encode(SioPacket(SioType.EVENT, data=data))
    assert frames == [
        '54-["ev",{"a":{"_placeholder":true,"num":0},"b":[1,{"c":{"_placeholder":true,"num":1}}],'
        '"d":[{"_placeholder":true,"num":2}]},{"_placeholder":true,"num":3}]',
        b"A",
        b"C",
        b"D",
        b"E",
    ]


def test_binary_ack_header() -> None:
    frames = encode(SioPacket(SioType.ACK, "/admin", [b"\xff"], 13))
    assert frames == ['61-/admin,13[{"_placeholder":true,"num":0}]', b"\xff"]
    assert encode(SioPacket(SioType.ACK, data=[b"a", b"b"], id=2)) == [
        '62-2[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"a",
        b"b",
    ]


def test_binary_type_without_bytes_is_written_as_plain_type() -> None:
    assert encode(SioPacket(SioType.BINARY_EVENT, data=["ev", 1])) == ['2["ev",1]']
    assert encode(SioPacket(SioType.BINARY_ACK, data=[1], id=4)) == ["34[1]"]


def test_binary_event_decodes_with_placeholders_then_assembles() -> None:
    header = decode('52-["hello",{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}]')
    assert header == SioPacket(SioType.BINARY_EVENT, "/", ["hello", PH1, {"x": PH0}], None, 2)
    assembler = BinaryAssembler(header)
    assert assembler.expected == 2
    assert assembler.add(b"zero") is None
    assert assembler.received == 1
    assert not assembler.complete
    packet = assembler.add(b"one")
    assert packet == SioPacket(SioType.BINARY_EVENT, "/", ["hello", b"one", {"x": b"zero"}], None, 2)
    assert (assembler.complete, assembler.received) == (True, 2)
    # the header packet itself is untouched
    assert header.data == ["hello", PH1, {"x": PH0}]
    with pytest.raises(CodecError, match="unexpected binary attachment"):
        assembler.add(b"extra")


def test_binary_ack_decodes_and_assembles() -> None:
    header = decode('61-/admin,13[{"_placeholder":true,"num":0}]')
    assert header == SioPacket(SioType.BINARY_ACK, "/admin", [PH0], 13, 1)
    assert BinaryAssembler(header).add(bytearray(b"\x00")) == SioPacket(SioType.BINARY_ACK, "/admin", [b"\x00"], 13, 1)


def test_encode_decode_assemble_round_trip_with_binary() -> None:
    original = SioPacket(SioType.EVENT, "/x", ["up", {"file": b"\x00\x01", "parts": [b"", b"\xff" * 3]}], 99)
    text, *attachments = encode(original)
    assert isinstance(text, str)
    assembler = BinaryAssembler(decode(text))
    result = None
    for attachment in attachments:
        assert isinstance(attachment, bytes)
        result = assembler.add(attachment)
    assert result == SioPacket(SioType.BINARY_EVENT, "/x", original.data, 99, 3)


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("", "empty packet"),
        ("7", "unknown packet type"),
        ("x", "unknown packet type"),
        ('٢["a"]', "unknown packet type"),
        # EVENT payload shape
        ("2", "non-empty array"),
        ("2[]", "non-empty array"),
        ('2{"a":1}', "non-empty array"),
        ('2"ev"', "non-empty array"),
        ("2[1]", "event name must be a string"),
        ("2[null]", "event name must be a string"),
        ("2/ns,1", "non-empty array"),
        ("2/ns", "non-empty array"),
        ('2["connect"]', "reserved event name"),
        ('2["disconnect",1]', "reserved event name"),
        ('2["newListener"]', "reserved event name"),
        # ACK
        ("3[1]", "ack needs an ack id"),
        ("31", "ack payload must be an array"),
        ('31{"a":1}', "ack payload must be an array"),
        # CONNECT / CONNECT_ERROR / DISCONNECT
        ("0[]", "CONNECT payload must be an object"),
        ('0"x"', "CONNECT payload must be an object"),
        ("0null", "CONNECT payload must be an object"),
        ("4", "CONNECT_ERROR payload"),
        ("4[]", "CONNECT_ERROR payload"),
        ("41", "CONNECT_ERROR payload"),
        ("1{}", "DISCONNECT packet carries no payload"),
        ("1/ns,[]", "DISCONNECT packet carries no payload"),
        # ack id where none belongs, garbage ack ids
        ("01{}", "CONNECT packet carries no ack id"),
        ("11", "DISCONNECT packet carries no ack id"),
        ('41{"message":"x"}', "CONNECT_ERROR packet carries no ack id"),
        ('212345678901["ev"]', "ack id too long"),
        ('201["ev"]', "leading zero"),
        ('2x1["ev"]', "invalid JSON"),
        ('2-1["ev"]', "invalid JSON"),
        ('21.5["ev"]', "invalid JSON"),
        ('2 ["ev"]', "whitespace"),
        ('2["ev"] ', "whitespace"),
        ('2["ev"]\n', "whitespace"),
        # namespace garbage
        ('2/n\x00s,["ev"]', "invalid namespace"),
        ('2/n\ns,["ev"]', "invalid namespace"),
        ('2,["ev"]', "invalid JSON"),
        ('2ns,["ev"]', "invalid JSON"),
        # trailing junk / bad JSON
        ('2["ev"]x', "invalid JSON"),
        ('2["ev"][1]', "invalid JSON"),
        ('2["ev",NaN]', "NaN is not JSON"),
        ('2["ev",Infinity]', "Infinity is not JSON"),
        ('2["ev",-Infinity]', "-Infinity is not JSON"),
        ("2['ev']", "invalid JSON"),
        ('2["ev",01]', "invalid JSON"),
        ('2["ev\x01"]', "invalid JSON"),  # raw control character in a string
        ('0{"a":1', "invalid JSON"),
        # attachments
        ('5["ev"]', "missing attachment count"),
        ('5-["ev"]', "missing attachment count"),
        ('51["ev"]', "missing attachment count"),
        ('50-["ev"]', "at least one attachment"),
        ('501-["ev",{"_placeholder":true,"num":0}]', "leading zero"),
        ('511-["ev"]', "too many attachments"),
        ('599999999999999999999-["ev"]', "too many attachments"),
        ('51-["ev"]', "1 attachments announced, 0 placeholders found"),
        ('51-["ev",{"_placeholder":true,"num":1}]', "placeholder 1 out of range"),
        ('51-["ev",{"_placeholder":true,"num":-1}]', "placeholder -1 out of range"),
        ('52-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]', "placeholder 0 used twice"),
        ('51-["ev",{"_placeholder":true,"num":"0"}]', "malformed attachment placeholder"),
        ('51-["ev",{"_placeholder":true,"num":0.0}]', "malformed attachment placeholder"),
        ('51-["ev",{"_placeholder":true,"num":true}]', "malformed attachment placeholder"),
        ('51-["ev",{"_placeholder":true}]', "malformed attachment placeholder"),
        ('51-["ev",{"_placeholder":true,"num":0,"x":1}]', "malformed attachment placeholder"),
        ('61-[{"_placeholder":true,"num":0}]', "ack needs an ack id"),
        ('51-{"_placeholder":true,"num":0}', "non-empty array"),
    ],
)
def test_malformed_packets_raise_codec_error(wire: str, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        decode(wire)


def test_decode_limits_are_configurable() -> None:
    assert decode('2123["ev"]', max_ack_id_digits=3).id == 123
    with pytest.raises(CodecError, match="ack id too long"):
        decode('21234["ev"]', max_ack_id_digits=3)
    header = '53-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]'
    assert decode(header, max_attachments=3).attachments == 3
    with pytest.raises(CodecError, match="too many attachments"):
        decode(header, max_attachments=2)
    assert decode("0/" + "n" * 20, max_namespace_length=21).namespace == "/" + "n" * 20
    with pytest.raises(CodecError, match="namespace too long"):
        decode("0/" + "n" * 20, max_namespace_length=20)


def test_deeply_nested_payload_is_a_codec_error_not_a_crash() -> None:
    with pytest.raises(CodecError, match="invalid JSON"):
        decode('2["ev",' + "[" * 100_000 + "]" * 100_000 + "]")
    # depth the JSON decoder accepts is also handled by the (iterative) placeholder walk
    depth = 500
    nested = '51-["ev",' + "[" * depth + '{"_placeholder":true,"num":0}' + "]" * depth + "]"
    packet = BinaryAssembler(decode(nested)).add(b"deep")
    assert packet is not None
    inner: Any = packet.data[1]
    for _ in range(depth - 1):
        inner = inner[0]
    assert inner == [b"deep"]


@pytest.mark.parametrize("name", sorted(RESERVED_EVENTS))
def test_reserved_event_names_are_refused_both_ways(name: str) -> None:
    with pytest.raises(CodecError, match="reserved event name"):
        encode(SioPacket(SioType.EVENT, data=[name]))
    with pytest.raises(CodecError, match="reserved event name"):
        decode("2" + dumps([name]))


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (SioPacket(SioType.EVENT), "non-empty array"),
        (SioPacket(SioType.EVENT, data=[]), "non-empty array"),
        (SioPacket(SioType.EVENT, data=[1]), "event name must be a string"),
        (SioPacket(SioType.EVENT, data=[b"ev"]), "event name must be a string"),
        (SioPacket(SioType.ACK, data=[1]), "ack needs an ack id"),
        (SioPacket(SioType.ACK, data={"a": 1}, id=1), "ack payload must be an array"),
        (SioPacket(SioType.CONNECT, data=[1]), "CONNECT payload must be an object"),
        (SioPacket(SioType.CONNECT, data={"a": b"x"}), "CONNECT packet cannot carry binary data"),
        (SioPacket(SioType.CONNECT_ERROR), "CONNECT_ERROR payload"),
        (SioPacket(SioType.DISCONNECT, data={}), "DISCONNECT packet carries no payload"),
        (SioPacket(SioType.DISCONNECT, id=1), "DISCONNECT packet carries no ack id"),
        (SioPacket(SioType.EVENT, data=["ev"], id=-1), "invalid ack id"),
        (SioPacket(SioType.EVENT, data=["ev"], id=True), "invalid ack id"),
        (SioPacket(SioType.EVENT, "ns", ["ev"]), "invalid namespace"),
        (SioPacket(SioType.EVENT, "/a,b", ["ev"]), "invalid namespace"),
        (SioPacket(SioType.EVENT, "", ["ev"]), "invalid namespace"),
        (SioPacket(SioType.EVENT, data=["ev", object()]), "cannot be written as JSON"),
        (SioPacket(SioType.EVENT, data=["ev", {b"k": 1}]), "cannot be written as JSON"),
        (SioPacket(SioType.EVENT, data=["ev", {"_placeholder": True, "num": 0}, b"x"]), "'_placeholder'"),
        (SioPacket(7, data=["ev"]), "unknown packet type"),  # type: ignore[arg-type]
    ],
)
def test_invalid_packets_are_refused_by_the_encoder(packet: SioPacket, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        encode(packet)


def test_encoder_refuses_reference_cycles() -> None:
    cyclic: list[Any] = ["ev"]
    cyclic.append(cyclic)
    with pytest.raises(CodecError, match="cannot be written as JSON"):
        encode(SioPacket(SioType.EVENT, data=cyclic))


# ----------------------------------------------------------------------------------------------
# JSON like JSON.stringify


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 1, "a": [1, "x"]}, '{"b":1,"a":[1,"x"]}'),  # compact, key order kept
        (["é", "😀", "日本"], '["é","😀","日本"]'),  # no ASCII escaping
        ("\u2028\u2029\x7f", '"\u2028\u2029\x7f"'),  # JSON.stringify leaves these raw
        ('q"b\\s/', '"q\\"b\\\\s/"'),
        ("\x00\x08\t\n\x0c\r\x1e\x1f", '"\\u0000\\b\\t\\n\\f\\r\\u001e\\u001f"'),
        ("\ud800", '"\\ud800"'),  # a lone surrogate is escaped (lower-case hex, like JS)
        ("a\udfffb", '"a\\udfffb"'),
        ("\ud83d\ude00", '"😀"'),  # a pair held as two code units is the character
        ((1, 2), "[1,2]"),
        (True, "true"),
        (None, "null"),
        (1.0, "1"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (100.0, "100"),
        (1e16, "10000000000000000"),
        (2.0**60, "1152921504606847000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-6, "0.000001"),
        (1.234e-6, "0.000001234"),
        (1e-7, "1e-7"),
        (-1.5e-10, "-1.5e-10"),
        (5e-324, "5e-324"),
        (float("nan"), "null"),
        ([float("inf"), {"x": float("-inf")}], '[null,{"x":null}]'),
        (2**64, "18446744073709551616"),
        ({"v": "1.5e3", "w": 1.5e3}, '{"v":"1.5e3","w":1500}'),  # numbers inside strings untouched
    ],
)
def test_dumps_writes_json_like_json_stringify(value: Any, text: str) -> None:
    assert dumps(value) == text


def test_dumps_refuses_bytes_and_unknown_types() -> None:
    with pytest.raises(CodecError, match="not JSON serializable"):
        dumps(["a", b"x"])
    with pytest.raises(CodecError, match="not JSON serializable"):
        dumps({1, 2})


def test_loads_is_strict_json() -> None:
    assert loads('{"a":[1,2.5,"\\ud800"]}') == {"a": [1, 2.5, "\ud800"]}
    for bad in ["NaN", "[Infinity]", "", "{'a':1}", "[1,]", "\ufeff[1]", "1 2"]:
        with pytest.raises(CodecError):
            loads(bad)


# ----------------------------------------------------------------------------------------------
# BinaryAssembler on its own


def test_assembler_refuses_non_binary_and_inconsistent_packets() -> None:
    with pytest.raises(CodecError, match="EVENT packet has no attachments"):
        BinaryAssembler(SioPacket(SioType.EVENT, data=["ev"]))
    with pytest.raises(CodecError, match="at least one attachment"):
        BinaryAssembler(SioPacket(SioType.BINARY_EVENT, data=["ev"], attachments=0))
    with pytest.raises(CodecError, match="2 attachments announced, 1 placeholders found"):
        BinaryAssembler(SioPacket(SioType.BINARY_EVENT, data=["ev", PH0], attachments=2))
    with pytest.raises(CodecError, match="placeholder 3 out of range"):
        BinaryAssembler(SioPacket(SioType.BINARY_EVENT, data=["ev", {"_placeholder": True, "num": 3}], attachments=1))
    with pytest.raises(CodecError, match="used twice"):
        BinaryAssembler(SioPacket(SioType.BINARY_ACK, data=[PH0, [PH0]], id=1, attachments=2))


def test_assembler_refuses_text_as_attachment() -> None:
    assembler = BinaryAssembler(SioPacket(SioType.BINARY_EVENT, data=["ev", PH0], attachments=1))
    with pytest.raises(CodecError, match="must be bytes, not str"):
        assembler.add("4x")  # type: ignore[arg-type]
    assert assembler.received == 0


# ----------------------------------------------------------------------------------------------
# The packets of the official Socket.IO v5 conformance suite (after the Engine.IO "4" prefix)


@pytest.mark.parametrize(
    ("wire", "packet"),
    [
        ("0", SioPacket(SioType.CONNECT)),
        ('0{"token":"123"}', SioPacket(SioType.CONNECT, data={"token": "123"})),
        ("0/custom,", SioPacket(SioType.CONNECT, "/custom")),
        ('0/custom,{"token":"abc"}', SioPacket(SioType.CONNECT, "/custom", {"token": "abc"})),
        ("0/random", SioPacket(SioType.CONNECT, "/random")),
        ("1", SioPacket(SioType.DISCONNECT)),
        ("1/custom,", SioPacket(SioType.DISCONNECT, "/custom")),
        ('2["message",1,"2",{"3":[true]}]', SioPacket(SioType.EVENT, data=["message", 1, "2", {"3": [True]}])),
        (
            '2/custom,["message",1,"2",{"3":[true]}]',
            SioPacket(SioType.EVENT, "/custom", ["message", 1, "2", {"3": [True]}]),
        ),
        (
            '2456["message-with-ack",1,"2",{"3":[false]}]',
            SioPacket(SioType.EVENT, data=["message-with-ack", 1, "2", {"3": [False]}], id=456),
        ),
        (
            '51-["message",{"_placeholder":true,"num":0}]',
            SioPacket(SioType.BINARY_EVENT, data=["message", PH0], attachments=1),
        ),
        (
            '51-789["message-with-ack",{"_placeholder":true,"num":0}]',
            SioPacket(SioType.BINARY_EVENT, data=["message-with-ack", PH0], id=789, attachments=1),
        ),
    ],
)
def test_conformance_suite_client_packets_decode(wire: str, packet: SioPacket) -> None:
    assert decode(wire) == packet


@pytest.mark.parametrize("wire", ["abc", "2{}", '2abc["message-with-ack",1,"2",{"3":[false]}]'])
def test_conformance_suite_invalid_packets_are_codec_errors(wire: str) -> None:
    with pytest.raises(CodecError):
        decode(wire)


def test_conformance_suite_server_replies_encode_exactly() -> None:
    assert encode(SioPacket(SioType.CONNECT_ERROR, "/random", {"message": "Invalid namespace"})) == [
        '4/random,{"message":"Invalid namespace"}'
    ]
    assert encode(SioPacket(SioType.CONNECT, "/custom", {"sid": "abc"})) == ['0/custom,{"sid":"abc"}']
    assert encode(SioPacket(SioType.EVENT, data=["auth", {"token": "123"}])) == ['2["auth",{"token":"123"}]']
    assert encode(SioPacket(SioType.EVENT, data=["message-back", 1, "2", {"3": [True]}])) == [
        '2["message-back",1,"2",{"3":[true]}]'
    ]
    assert encode(SioPacket(SioType.ACK, data=[1, "2", {"3": [False]}], id=456)) == ['3456[1,"2",{"3":[false]}]']
    assert encode(SioPacket(SioType.EVENT, data=["message-back", b"\x01\x02\x03"])) == [
        '51-["message-back",{"_placeholder":true,"num":0}]',
        b"\x01\x02\x03",
    ]
    assert encode(SioPacket(SioType.ACK, data=[b"\x01\x02\x03"], id=789)) == [
        '61-789[{"_placeholder":true,"num":0}]',
        b"\x01\x02\x03",
    ]


@pytest.mark.parametrize(
    ("packet", "frames"),
    [
        (SioPacket(SioType.CONNECT), ["40"]),
        (SioPacket(SioType.DISCONNECT), ["41"]),
        (SioPacket(SioType.DISCONNECT, "/ns"), ["41/ns,"]),
        (SioPacket(SioType.EVENT, data=["ev", 1]), ['42["ev",1]']),
        (SioPacket(SioType.EVENT, data=["ev", b"\x01"]), ['451-["ev",{"_placeholder":true,"num":0}]', b"\x01"]),
    ],
)
def test_socket_io_packets_inside_engine_io_messages(packet: SioPacket, frames: list[str | bytes]) -> None:
    websocket = [encode_packet(EioPacket(EioType.MESSAGE, frame)) for frame in encode(packet)]
    assert websocket == frames
    polling = encode_payload([EioPacket(EioType.MESSAGE, frame) for frame in encode(packet)])
    assert polling == "\x1e".join(f if isinstance(f, str) else "bAQ==" for f in frames)
