"""Echo URIs, parsed with iblutil's rules: no scheme means udp, default port 11001, hostnames resolved."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from dataclasses import dataclass

from rigs.echo.codes import DEFAULT_PORT, DEFAULT_SCHEME, LEGACY_PORT, SCHEMES, STREAM_SCHEMES

log = logging.getLogger(__name__)

_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z]+)://")


@dataclass(frozen=True)
class Endpoint:
    """A validated echo address: scheme, numeric host and port."""

    scheme: str
    host: str
    port: int

    @property
    def is_stream(self) -> bool:
        """True for tcp://, ws:// and wss:// (plain TCP), False for udp://."""
        return self.scheme in STREAM_SCHEMES

    @property
    def addr(self) -> tuple[str, int]:
        """The (host, port) tuple the socket layer uses."""
        return (self.host, self.port)

    @property
    def uri(self) -> str:
        """The complete URI, e.g. `udp://127.0.0.1:11001`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def with_port(self, port: int) -> Endpoint:
        """The same endpoint on another port (an ephemeral port once bound)."""
        return Endpoint(self.scheme, self.host, port)

    def __str__(self) -> str:
        return self.uri


def resolve_host(host: str) -> str:
    """Return `host` as a numeric address, resolving a host name (IPv4, like iblutil)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError as exc:
        raise ValueError(f'Failed to resolve IP for hostname "{host}"') from exc


def _split_host_port(rest: str) -> tuple[str, str | None]:
    if rest.startswith("["):  # bracketed IPv6 literal, e.g. [::1]:11001
        host, _, tail = rest[1:].partition("]")
        return host, tail[1:] if tail.startswith(":") else None
    if rest.count(":") > 1:  # a bare IPv6 literal has no port
        return rest, None
    host, sep, port = rest.partition(":")
    return host, (port if sep else None)


def parse_uri(
    uri: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
    *,
    resolve: bool = True,
    default_port: int = DEFAULT_PORT,
    allow_port_zero: bool = False,
) -> Endpoint:
    """Validate an echo URI the way iblutil's `validate_uri` does and return an `Endpoint`.

    `allow_port_zero` lets a listener ask the OS for an ephemeral port (tests do).
    """
    if isinstance(uri, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return Endpoint(DEFAULT_SCHEME, str(uri), default_port)
    if not isinstance(uri, str):
        raise TypeError(f'Unsupported URI "{uri}" of type {type(uri)}')
    uri = uri.strip()
    scheme = DEFAULT_SCHEME
    if match := _SCHEME.match(uri):
        scheme = match.group("scheme").lower()
        uri = uri[match.end():]
    if scheme not in SCHEMES:
        raise ValueError(f'Unsupported scheme "{scheme}" (expected one of {", ".join(SCHEMES)})')
    host, port_text = _split_host_port(uri.rstrip("/"))
    if not host:
        raise ValueError(f'No host in URI "{uri}"')
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"Invalid port number: {port_text}") from None
    if not (0 if allow_port_zero else 1) <= port <= 65535:
        raise ValueError(f"Invalid port number: {port}")
    if port == LEGACY_PORT:
        log.warning(
            "%s://%s:%d uses port %d, the default of iblutil < 1.11, whose message numbering labweb "
            "does not speak; make sure the peer runs iblutil >= 1.11 (default port %d)",
            scheme, host, port, LEGACY_PORT, DEFAULT_PORT,
        )
    return Endpoint(scheme, resolve_host(host) if resolve else host, port)
