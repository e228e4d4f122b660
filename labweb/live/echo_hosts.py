"""The echo hosts of the registered rigs, for the agents' echo allow-lists: sent in every `welcome`, and again
(`registry`) to the agents connected to this process whenever the registry's hosts change.

The registry can change in another process (`labweb rig add`, the admin, another daphne), so each process polls
it every few seconds rather than relying on signals; one small query per process, whatever the number of rigs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import weakref
from typing import Protocol

from channels.db import database_sync_to_async

from labweb.fleet.models import Rig
from labweb.live.loops import per_loop
from rigs.echo.uri import parse_uri
from rigs.messages import MAX_ECHO_HOSTS, encode

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0


class AgentSocket(Protocol):
    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False): ...


def echo_hosts_list() -> list[str]:
    """The hosts of every registered rig's echo URI (sorted, unique); listen-anywhere addresses are left out."""
    hosts = set()
    for uri in Rig.objects.exclude(echo_uri="").values_list("echo_uri", flat=True):
        try:
            host = parse_uri(uri, resolve=False).host
        except (ValueError, TypeError):
            continue
        try:
            if ipaddress.ip_address(host).is_unspecified:  # 0.0.0.0 is where a rig listens, not a peer
                continue
        except ValueError:
            pass
        hosts.add(host)
    return sorted(hosts)[:MAX_ECHO_HOSTS]


class EchoHostsWatcher:
    """Keeps this process's agent sockets up to date with the registry's echo hosts."""

    def __init__(self) -> None:
        self.agents: weakref.WeakSet = weakref.WeakSet()
        self.hosts: list[str] | None = None
        self._task: asyncio.Task | None = None

    def watch(self, agent: AgentSocket, hosts: list[str]) -> None:
        """An agent was just welcomed with `hosts`; it gets every change from now on."""
        self.agents.add(agent)
        if self.hosts is None:
            self.hosts = hosts
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._loop())

    def forget(self, agent: AgentSocket) -> None:
        self.agents.discard(agent)

    async def _loop(self) -> None:
        while self.agents:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not check the rig registry's echo hosts; trying again")

    async def poll(self) -> None:
        hosts = await database_sync_to_async(echo_hosts_list)()
        if hosts == self.hosts:
            return
        self.hosts = hosts
        text = encode({"type": "registry", "echo_hosts": hosts})
        for agent in list(self.agents):
            try:
                await agent.send(text_data=text)
            except Exception as exc:  # a socket closing meanwhile: it reconnects and gets a welcome
                log.debug("registry update not sent to an agent: %s", exc)


get_watcher = per_loop(EchoHostsWatcher)  # one per daphne process; tests get a fresh one per event loop
