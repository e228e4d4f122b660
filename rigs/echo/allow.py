"""Which peers a rig's echo listener obeys: loopback, the `echo_allow:` hosts and networks of rig.yaml, and the
echo hosts of the rigs registered in the dashboard. Everything else is dropped unanswered, counted, and logged
at most once a minute.

iblrig's echo protocol has no authentication (and iblrig main PCs must keep driving labweb rigs), so the peer's
address is all there is to go by. On a lab network that is a real bar: a datagram from anywhere else starts
nothing, records nothing and gets no echo back.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOG_EVERY_S = 60.0
_CACHE_LIMIT = 4096  # addresses remembered as allowed or not (a flood of spoofed sources must not grow it)
_TOP_PEERS = 8


def networks_parse(entries: Iterable[str]) -> tuple[list[Network], list[str]]:
    """Split allow-list entries into networks (an address is a /32 or /128) and host names to resolve.

    Raises ValueError naming an entry that is neither (e.g. a network with host bits set, `10.0.0.1/24`).
    """
    networks: list[Network] = []
    names: list[str] = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
            continue
        except ValueError as exc:
            if "/" in text or _looks_numeric(text):
                raise ValueError(f"echo_allow: {entry!r} is not an address or a network ({exc})") from None
        if not _hostname_ok(text):
            raise ValueError(f"echo_allow: {entry!r} is not a host name, an address or a network")
        names.append(text)
    return networks, names


def _looks_numeric(text: str) -> bool:
    return all(c in "0123456789.:abcdefABCDEF" for c in text) and any(c.isdigit() for c in text)


def _hostname_ok(text: str) -> bool:
    return 0 < len(text) <= 253 and all(c.isalnum() or c in "-._" for c in text)


def resolve(name: str) -> list[Network]:
    """Every address a host name resolves to, as single-address networks (none if it does not resolve)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_UDP)
    except (OSError, UnicodeError):
        return []
    return sorted({ipaddress.ip_network(info[4][0].split("%")[0]) for info in infos}, key=str)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)  # a dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d
    return mapped or ip


class PeerAllowList:
    """The peers an echo listener answers. `allows(host)` is called for every datagram (cached per address).

    `static`: the rig.yaml `echo_allow:` entries (addresses, networks such as `10.0.0.0/24`, host names).
    `update(hosts)`: the echo hosts of the rigs registered in the dashboard (sent at welcome and when the
    registry changes); they replace the previous dashboard list. Loopback is always allowed unless
    `loopback=False`. Host names are resolved in a background thread, never on the caller's event loop.
    """

    def __init__(self, static: Iterable[str] = (), *, loopback: bool = True, name: str = "echo",
                 log_every: float = LOG_EVERY_S, clock: Callable[[], float] = time.monotonic,
                 resolver: Callable[[str], list[Network]] = resolve) -> None:
        self.name = name
        self.loopback = loopback
        self.log_every = log_every
        self._clock = clock
        self._resolve = resolver
        self._lock = threading.Lock()
        self._static_nets, self._static_names = networks_parse(static)
        self._resolved_static: list[Network] = []
        self._registry_nets: list[Network] = []
        self._registry_names: list[str] = []
        self._resolved_registry: list[Network] = []
        self._cache: dict[str, bool] = {}
        # What was refused: the total, per address (bounded), and since the last log line.
        self.refused = 0
        self._per_peer: dict[str, int] = {}
        self._since_log = 0
        self._last_log = float("-inf")
        self.last_refused: tuple[str, int] | None = None
        self.last_refused_at: float | None = None  # epoch seconds, for the rig's card
        self._generation = 0
        if self._static_names:
            self._resolve_later(self._static_names, static=True)

    # -- the list ---------------------------------------------------------------------------------------
    def update(self, hosts: Iterable[str]) -> None:
        """Replace the dashboard's list of echo hosts (host names or addresses; bad entries are logged, skipped)."""
        networks: list[Network] = []
        names: list[str] = []
        for host in hosts:
            try:
                nets, found = networks_parse([host])
            except ValueError as exc:
                log.warning("[%s] ignoring echo host %r from the dashboard: %s", self.name, host, exc)
                continue
            networks += nets
            names += found
        with self._lock:
            self._registry_nets, self._registry_names = networks, names
            self._resolved_registry = []
            self._generation += 1
            self._cache.clear()
        if names:
            self._resolve_later(names, static=False)

    def _resolve_later(self, names: list[str], *, static: bool) -> None:
        generation = self._generation

        def work() -> None:
            found: list[Network] = []
            unresolved = []
            for name in names:
                nets = self._resolve(name)
                found += nets
                if not nets:
                    unresolved.append(name)
            if unresolved:
                log.warning("[%s] echo allow-list: cannot resolve %s", self.name, ", ".join(unresolved))
            with self._lock:
                if static:
                    self._resolved_static = found
                elif generation == self._generation:
                    self._resolved_registry = found
                self._cache.clear()

        threading.Thread(target=work, name="echo-allow-resolve", daemon=True).start()

    def entries(self) -> list[str]:
        """What is allowed, as text (for logs and the rig's status)."""
        with self._lock:
            nets = self._static_nets + self._resolved_static + self._registry_nets + self._resolved_registry
        return (["loopback"] if self.loopback else []) + [str(n) for n in nets]

    # -- per datagram -----------------------------------------------------------------------------------
    def allows(self, host: str) -> bool:
        allowed = self._cache.get(host)
        if allowed is None:
            allowed = self._decide(host)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[host] = allowed
        return allowed

    def _decide(self, host: str) -> bool:
        ip = _address(host)
        if ip is None:
            return False
        if self.loopback and ip.is_loopback:
            return True
        with self._lock:
            nets = self._static_nets + self._resolved_static + self._registry_nets + self._resolved_registry
        return any(ip.version == net.version and ip in net for net in nets)

    def refuse(self, addr: tuple[str, int], what: str = "datagram") -> None:
        """Count a refused datagram or connection; log a summary at most once every `log_every` seconds."""
        self.refused += 1
        self._since_log += 1
        host = addr[0]
        if host in self._per_peer or len(self._per_peer) < _CACHE_LIMIT:
            self._per_peer[host] = self._per_peer.get(host, 0) + 1
        self.last_refused, self.last_refused_at = (addr[0], addr[1]), time.time()
        now = self._clock()
        if now - self._last_log >= self.log_every:
            log.warning(
                "[%s] refused %d echo %s(s) from peers not on the allow-list in the last %s (latest %s:%d; "
                "allowed: %s; add a peer to echo_allow: in rig.yaml or register its rig in the dashboard)",
                self.name, self._since_log, what,
                "minute" if self._last_log != float("-inf") else "moment", addr[0], addr[1],
                ", ".join(self.entries()) or "nobody",
            )
            self._last_log, self._since_log = now, 0

    def stats(self) -> dict[str, Any]:
        """What the rig's card shows: how many datagrams were refused, the latest peer and when, the top peers."""
        top = sorted(self._per_peer.items(), key=lambda item: -item[1])[:_TOP_PEERS]
        return {
            "refused": self.refused,
            "last_peer": f"{self.last_refused[0]}:{self.last_refused[1]}" if self.last_refused else None,
            "last_at": self.last_refused_at,
            "peers": dict(top),
        }
