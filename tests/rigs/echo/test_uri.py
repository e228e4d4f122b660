"""URI rules shared with iblutil: udp by default, port 11001, hostnames resolved."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from iblutil.io.net.base import validate_uri

from rigs.echo.uri import parse_uri


@pytest.mark.parametrize("uri", ["127.0.0.1", "127.0.0.1:9998", "tcp://127.0.0.1:9998", "ws://127.0.0.1", "wss://127.0.0.1:1", "localhost", "udp://localhost:5000"])
def test_same_uri_as_iblutil(uri):
    assert parse_uri(uri).uri == validate_uri(uri)


def test_ip_address_objects():
    assert parse_uri(ipaddress.ip_address("10.1.2.3")).uri == "udp://10.1.2.3:11001"


@pytest.mark.parametrize("uri, stream", [("10.0.0.1", False), ("udp://10.0.0.1", False), ("tcp://10.0.0.1", True), ("ws://10.0.0.1", True), ("wss://10.0.0.1", True)])
def test_stream_schemes_are_plain_tcp(uri, stream):
    assert parse_uri(uri).is_stream is stream


@pytest.mark.parametrize("uri", ["http://10.0.0.1", "10.0.0.1:0", "10.0.0.1:70000", "10.0.0.1:port", "no-such-host.invalid"])
def test_bad_uris(uri):
    with pytest.raises(ValueError):
        parse_uri(uri)


def test_port_zero_only_for_listeners():
    assert parse_uri("udp://127.0.0.1:0", allow_port_zero=True).port == 0


def test_old_default_port_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="rigs.echo.uri"):
        parse_uri("10.0.0.1:10001")
    assert "iblutil < 1.11" in caplog.text
