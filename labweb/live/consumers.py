"""The two sockets: `AgentConsumer` for rig agents, `DashboardConsumer` for browsers."""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from labweb.fleet import services
from labweb.fleet.commands import agent_group, command_issue_text
from labweb.fleet.models import Rig
from labweb.records.live import session_entries
from rigs.messages import AGENT_TYPES, MessageError, decode, encode

from .auth import refuse_agent
from .board import DASHBOARD_GROUP, get_board
from .echo_hosts import echo_hosts_list, get_watcher
from .entries import browser_text, command_entry
from .fanout import BROWSER_QUEUE_FRAMES, get_fanout
from .inputs import InputError, answer, browser_message
from .layer import group_send_counted, membership_kept

log = logging.getLogger(__name__)

# Past this many bad messages in a row the agent is broken or hostile; drop it (it will reconnect).
MAX_BAD_MESSAGES = 100


class DirectDispatch:
    """Channels' consumer loop, without its two costs on the status hot path (DESIGN 5.1):

    - Channels 4.3 hops to a worker thread (aclose_old_connections) before every message: ~3x less receive
      capacity, and every relayed frame of every browser queued behind whatever database work holds the one
      thread-sensitive thread (the board's persist: frames late by up to a second). Database work in these
      consumers goes through database_sync_to_async, which closes stale connections itself.
    - Its await_many_dispatch makes a new task and an asyncio.wait over the socket and the channel layer for every
      message: three trips round the event loop and some 20 us a status. Here each source is read by a loop of
      its own, which takes what is queued without a trip; a lock keeps the handlers one at a time, as Channels does.
    """

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive, *self.local_sources()]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            sources.append(self.channel_receive)
        turn = asyncio.Lock()
        readers = [asyncio.ensure_future(self._read(source, turn)) for source in sources]
        self.background: list[asyncio.Task] = []  # the consumer's own tasks (group renewals), ended with it
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
            for reader in done:
                if not isinstance(reader.exception(), StopConsumer):
                    reader.result()  # what ended it raises here, as out of Channels' loop
        finally:
            for task in readers + self.background:
                task.cancel()
            await asyncio.gather(*readers, *self.background, return_exceptions=True)

    async def group_join(self, group: str) -> None:
        """Join a channel-layer group for as long as this consumer lives (renewed past the layer's group expiry)."""
        await self.channel_layer.group_add(group, self.channel_name)
        self.background.append(asyncio.ensure_future(membership_kept(self.channel_layer, group, self.channel_name)))

    async def _read(self, source, turn: asyncio.Lock) -> None:
        while True:
            message = await source()
            async with turn:
                await self.dispatch(message)

    def local_sources(self) -> list:
        """Sources of messages from this process (awaitables' factories), read beside the socket and the layer."""
        return []

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)


class AgentConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """One rig agent's link: hello, statuses, durable events (stored, then acked), replies to commands."""

    rig: Rig

    async def connect(self):
        rig = self.scope.get("rig")
        if rig is None:
            refuse_agent(self.scope)
            await self.close()
            return
        self.rig = rig
        self.board = get_board()
        self.group = agent_group(rig.name)
        self.last_heard = time.monotonic()
        self.greeted = False
        self.bad_messages = 0
        self.superseded = False
        self.pending_events: list[dict] = []
        self.flush_task: asyncio.Task | None = None
        # One link per rig: an older one (in this process or another) gives way to the new one.
        await group_send_counted(self.channel_layer, self.group, {"type": "agent.superseded", "by": self.channel_name})
        await self.group_join(self.group)
        await self.accept()
        log.info("rig %s connected from %s", rig.name, (self.scope.get("client") or ["?"])[0])

    async def disconnect(self, code):
        if not hasattr(self, "rig"):
            return
        get_watcher().forget(self)
        await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.flush_task is not None:
            await asyncio.gather(self.flush_task, return_exceptions=True)
        if self.superseded:
            # A newer link holds the rig (here or in another process): the rig is not offline, and saying so,
            # even for a moment, would refuse a session start and flash it offline on every page.
            get_board().agent_forget(self)
        elif get_board().agent_gone(self):
            await database_sync_to_async(services.rig_mark_offline)(rig_ids=[self.rig.pk])
            log.info("rig %s disconnected (code %s)", self.rig.name, code)

    async def receive(self, text_data=None, bytes_data=None):
        self.last_heard = time.monotonic()
        try:
            message = decode(text_data if text_data is not None else bytes_data, allowed=AGENT_TYPES)
            if message["rig"] != self.rig.name:
                raise MessageError(f"message names rig {message['rig']!r} but this token belongs to {self.rig.name!r}")
            if not self.greeted and message["type"] != "hello":
                raise MessageError("the first message must be hello")
        except MessageError as exc:
            await self._reject(str(exc), seq=exc.seq)
            return
        self.bad_messages = 0
        if message["type"] == "status":  # the hot path: a few per second from every rig, no await, no lookup
            self.board.agent_status(self.rig.name, message)
            return
        await getattr(self, f"on_{message['type']}")(message)

    async def _reject(self, reason: str, seq: int | None = None) -> None:
        """Answer with the reason (and the seq of an event refused for good, which the agent quarantines)."""
        self.bad_messages += 1
        log.warning("rig %s: message rejected: %s", self.rig.name, reason)
        error = {"type": "error", "error": reason[:2000]}
        if seq is not None:
            error["seq"] = seq
        await answer(self, encode(error))
        if self.bad_messages >= MAX_BAD_MESSAGES:
            log.warning("rig %s: %d bad messages in a row; closing its socket", self.rig.name, self.bad_messages)
            await self.close(code=4400)

    async def on_hello(self, message: dict) -> None:
        last_seq = await database_sync_to_async(services.rig_mark_connected)(rig=self.rig, hello=message)
        hosts = await database_sync_to_async(echo_hosts_list)()  # the rig's echo allow-list takes these peers
        self.greeted = True
        await self.send(text_data=encode({"type": "welcome", "rig": self.rig.name, "last_seq": last_seq,
                                          "echo_hosts": hosts}))
        get_watcher().watch(self, hosts)
        get_board().agent_hello(self, message)

    async def on_status(self, message: dict) -> None:
        get_board().agent_status(self.rig.name, message)

    async def on_preview(self, message: dict) -> None:
        get_board().agent_preview(self.rig.name, message)

    async def on_event(self, message: dict) -> None:
        self.pending_events.append(message)
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.ensure_future(self._flush_events())

    async def _flush_events(self) -> None:
        """Store what has queued up in one transaction, then ack it; events arriving meanwhile form the next batch."""
        while self.pending_events:
            batch, self.pending_events = self.pending_events, []
            refused: dict[int, str] = {}
            try:
                seqs, sessions = await database_sync_to_async(_events_store_sync)(self.rig, batch, refused)
            except Exception:
                # Not acked, so the agent keeps them and sends them again.
                log.exception("rig %s: could not store %d events; the agent will resend them", self.rig.name, len(batch))
                return
            await self.send(text_data=encode({"type": "ack", "seqs": seqs}))
            for seq, reason in refused.items():  # not even a quarantine record could hold them: the rig keeps them
                await self._reject(f"event {seq} cannot be stored: {reason}", seq=seq)
            board = get_board()
            board.agent_events(self.rig.name, batch)
            board.sessions_changed(sessions)

    async def on_reply(self, message: dict) -> None:
        entry, sessions = await database_sync_to_async(_command_reply_sync)(self.rig, message)
        if entry is None:
            log.warning("rig %s replied to unknown or closed command %s", self.rig.name, message["id"])
            return
        board = get_board()
        board.command_changed(entry)
        board.sessions_changed(sessions)

    # -- messages from the channel layer ---------------------------------------------------------------------
    async def agent_command(self, event):
        await self.send(text_data=event["text"])

    async def agent_superseded(self, event):
        if event["by"] != self.channel_name:
            log.info("rig %s: a newer link replaced this one", self.rig.name)
            self.superseded = True
            await self.close(code=4001)


def _events_store_sync(rig: Rig, batch: list[dict], rejected: dict[int, str]) -> tuple[list[int], list[dict]]:
    stored = services.events_store(rig=rig, events=batch, rejected=rejected)
    return stored.seqs, session_entries(stored.sessions)


def _command_reply_sync(rig: Rig, message: dict) -> tuple[dict | None, list[dict]]:
    command = services.command_record_reply(
        rig=rig, command_id=message["id"], ok=message["ok"], result=message.get("result"), error=message.get("error")
    )
    if command is None:
        return None, []
    exp_ref = (command.params or {}).get("exp_ref")
    return command_entry(command), session_entries([str(exp_ref)] if exp_ref else [])


class DashboardConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """A browser: a snapshot on connect, then the relay's frames; commands are checked before they go anywhere."""

    def local_sources(self) -> list:
        # Frames come from this process's fan-out (labweb.live.fanout), one copy per process through the layer.
        self.frames: asyncio.Queue = asyncio.Queue(maxsize=BROWSER_QUEUE_FRAMES)
        return [self.frames.get]

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            client = self.scope.get("client") or ("?", 0)
            log.warning("browser socket from %s:%s refused: not logged in", client[0], client[1])
            await self.close()
            return
        self.behind = False  # frames held back from a browser that did not keep up: a snapshot is due
        await self.group_join(DASHBOARD_GROUP)  # counted there, in any process
        await self.accept()
        board = get_board()
        board.ensure_running()
        await get_fanout().join(self)  # before the snapshot: a frame newer than it is not missed
        await self.send(text_data=browser_text(await board.snapshot()))

    async def disconnect(self, code):
        get_fanout().leave(self)
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = browser_message(text_data if text_data is not None else bytes_data)
        except InputError as exc:  # answered, and the socket stays open
            await answer(self, browser_text({"type": "error", "error": str(exc)}))
            return
        kind = message["type"]
        if kind == "snapshot":
            await self.send(text_data=browser_text(await get_board().snapshot()))
        elif kind == "session":
            entries = await database_sync_to_async(session_entries)([str(message.get("exp_ref", ""))[:100]])
            await self.send(text_data=browser_text({"type": "sessions", "sessions": entries}))
        elif kind == "command":
            try:
                await self._command(message)
            except Exception:  # a command that cannot be handled is answered as such; the socket stays open
                log.exception("a command from %s could not be handled", self.scope["user"])
                await self.send(text_data=browser_text({"type": "command", "ref": message.get("ref"), "command": None,
                                                      "error": "The command could not be handled."}))
        else:
            await self.send(text_data=browser_text({"type": "error", "error": "expected {type: snapshot|session|command}"}))

    async def _command(self, message: dict) -> None:
        outcome = await database_sync_to_async(_command_issue_sync)(self.scope["user"], message)
        reply = {"type": "command", "ref": message.get("ref"), "command": outcome["entry"], "error": outcome["error"]}
        await self.send(text_data=browser_text(reply))
        if outcome["text"] is not None:
            entry = outcome["entry"]
            await group_send_counted(self.channel_layer, agent_group(entry["rig"]), {"type": "agent.command",
                                                                                    "text": outcome["text"]})
            get_board().command_changed(entry)

    async def relay_frame(self, event):
        # A browser that does not keep up (a slow link, a frozen tab) is not sent frames to pile up in the server's
        # send buffer without bound: past the limit it gets none, and once its buffer drained, a fresh snapshot.
        backlog = _send_backlog(self)
        if backlog is not None and backlog > settings.LABWEB_BROWSER_BACKLOG_BYTES:
            if not self.behind:
                log.warning("a browser of %s is %d bytes behind: frames held back until it catches up",
                            self.scope["user"], backlog)
            self.behind = True
            return
        if self.behind:
            self.behind = False
            await self.send(text_data=browser_text(await get_board().snapshot()))
            return
        await self.send(text_data=event["text"])


def _send_backlog(consumer) -> int | None:
    """Bytes written to this socket and not yet taken by the kernel, when the server is daphne (Twisted), else None.

    Daphne hands the application `send = partial(server.handle_reply, protocol)`, under Channels' session wrapper;
    the protocol's Twisted transport holds what is queued for the socket."""
    send = consumer.base_send
    for _ in range(5):
        if isinstance(send, functools.partial) and send.args:
            transport = getattr(send.args[0], "transport", None)
            try:
                return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
            except (AttributeError, TypeError):
                return None
        send = getattr(getattr(send, "__self__", None), "real_send", None)
        if send is None:
            return None
    return None


def _command_issue_sync(user, message: dict) -> dict:
    rig = Rig.objects.filter(name=str(message.get("rig", ""))).first()
    params = message.get("params") or {}
    if rig is None or not isinstance(params, dict):
        return {"entry": None, "text": None, "error": "No such rig." if rig is None else "params must be an object."}
    try:
        command, text = command_issue_text(user=user, rig=rig, action=str(message.get("action", "")), params=params)
    except services.CommandRefused as refused:
        return {"entry": command_entry(refused.command), "text": None, "error": refused.command.error}
    return {"entry": command_entry(command), "text": text, "error": None}
