"""Shared helpers for the echo tests: free loopback ports, quiet iblutil loggers, raw peers."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A loopback port nobody listens on (iblutil cannot bind port 0, so it needs a real one)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quiet_logger(name: str = "iblutil-peer") -> logging.Logger:
    """iblutil otherwise installs a DEBUG handler on stdout for every communicator."""
    logger = logging.getLogger(f"tests.echo.{name}")
    logger.setLevel(logging.WARNING)
    return logger


class RawPeer(asyncio.DatagramProtocol):
    """A bare UDP socket on loopback that records what it receives and sends whatever a test wants."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.received.put_nowait((data, addr[:2]))

    @property
    def addr(self) -> tuple[str, int]:
        return self.transport.get_extra_info("sockname")[:2]

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)

    async def next(self, timeout: float = 2.0) -> tuple[bytes, tuple]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def next_except(self, resent: bytes, timeout: float = 2.0) -> tuple[bytes, tuple]:
        """The next datagram that is not (another) resend of `resent`."""
        while True:
            data, addr = await self.next(timeout)
            if data != resent:
                return data, addr

    async def nothing(self, within: float = 0.3, but: bytes | None = None) -> bool:
        """True if nothing (except resends of `but`) arrives within `within` seconds."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while (left := end - loop.time()) > 0:
            try:
                data, _ = await asyncio.wait_for(self.received.get(), left)
            except TimeoutError:
                return True
            if data != but:
                return False
        return True


@pytest.fixture
async def raw_peer():
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    yield peer
    transport.close()
