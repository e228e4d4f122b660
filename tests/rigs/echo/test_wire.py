"""Message encoding and decoding, without sockets."""

from __future__ import annotations

import json

import pytest
from iblutil.io.net import base as ibl

from rigs.echo.codes import UDP_MAX_PAYLOAD, ExpMessage, ExpStatus
from rigs.echo.wire import (
    LegacyMessage,
    MalformedMessage,
    MessageTooLarge,
    check_udp_size,
    decode,
    encode,
    encode_error,
)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        ((ExpMessage.EXPINIT, None), (ibl.ExpMessage.EXPINIT, None)),
        ((ExpMessage.EXPSTART, "2024-01-01_1_foo", {"a": [1, 2.5]}), (ibl.ExpMessage.EXPSTART, "2024-01-01_1_foo", {"a": [1, 2.5]})),
        ((ExpMessage.EXPSTATUS, ExpStatus.RUNNING), (ibl.ExpMessage.EXPSTATUS, ibl.ExpStatus.RUNNING)),
        ((ExpMessage.EXPINFO, ExpStatus.CONNECTED, {"subject_name": "é"}), (ibl.ExpMessage.EXPINFO, ibl.ExpStatus.CONNECTED, {"subject_name": "é"})),
    ],
)
def test_encode_is_byte_for_byte_what_iblutil_sends(ours, theirs):
    assert encode(*ours) == ibl.Communicator.encode(theirs)


def test_encode_uses_json_dumps_default_separators():
    assert encode(1, {"k": [1, 2]}) == b'[1, {"k": [1, 2]}]'


def test_error_report_shape():
    assert json.loads(encode_error(ValueError("bad exp_ref"), ExpMessage.EXPINIT)) == [0, "ValueError: bad exp_ref", 1]


def test_decode_keeps_raw_bytes_and_splits_code():
    raw = b'[2,   "2024-01-01_1_foo",null]'  # odd spacing: the echo must return these exact bytes
    message = decode(raw)
    assert (message.code, message.payload, message.raw, message.name) == (2, ["2024-01-01_1_foo", None], raw, "EXPSTART")


def test_decode_accepts_a_bare_code():
    assert decode(b"[32]").payload == []  # iblrig sends `[EXPSTATUS]` alone


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe garbage", b'[1, {"exp_ref": "2024', b'{"code": 1}', b"42", b"[]", b'["EXPINIT"]', b"[true, 1]", b"[3, null]", b"[1.0, null]", b"[256, null]"],
)
def test_decode_refuses_what_is_not_a_message(raw):
    with pytest.raises(MalformedMessage):
        decode(raw)


@pytest.mark.parametrize("raw", [b"[10, null]", b"[50, null]", b"[40, null]", b"[2, 0, null]"])
def test_decode_flags_pre_1_11_numbering(raw):
    with pytest.raises(LegacyMessage):
        decode(raw)


def test_udp_size_limit():
    room = UDP_MAX_PAYLOAD - len(encode(1, ""))
    fits = encode(1, "x" * room)
    assert len(fits) == UDP_MAX_PAYLOAD and check_udp_size(fits) is fits
    with pytest.raises(MessageTooLarge):
        check_udp_size(encode(1, "x" * (room + 1)))
