"""iblutil-compatible echo communicator (UDP and plain TCP) for multi-rig sessions.

Speaks iblutil.io.net (>= 1.11) byte for byte (DESIGN.md 4.1): a message is a JSON array
`[code, *payload]`; the receiver echoes every new message back at once; a reply is a new
message with the same code. Layers, each usable alone:

- `rigs.echo.wire` / `rigs.echo.framing` / `rigs.echo.core`: the sans-I/O protocol (encode,
  decode, echo matching, reply routing, TCP stream splitting), testable without sockets.
- `EchoEndpoint`: the asyncio transport (udp://, tcp://, ws://, wss:// — the last three are plain
  TCP), listening (`await EchoEndpoint.listen(uri)`) or sending (`await EchoEndpoint.connect(uri)`).
- `EchoRig`: the listening rig an agent embeds. `RemoteRig` / `Services` / `run_session`: the main.

Listening side (an agent)::

    async def on_init(request: Request) -> dict | None:      # also on_start, on_stop, on_interrupt,
        prepare_session(request.exp_ref)                     # on_cleanup, on_status, on_info
        return {"tag": "video"}                              # merged into the reply's data

    rig = EchoRig("udp://0.0.0.0:11001", "cam-left", main_sync=False,
                  on_init=on_init, on_message=record_event)
    await rig.start()            # or: async with EchoRig(...) as rig:
    ...
    await rig.close()

- Handlers are `async (Request) -> Mapping | None` and must be idempotent: a main may resend a
  message whose echo it missed. `Request` has `code`, `name`, `payload`, `peer`, `data`,
  `exp_ref` (EXPSTART's argument or `exp_ref` in the data) and `status`. A handler that raises
  is answered with the error report `[0, "Type: message", code]`; the rig keeps listening.
  Lifecycle handlers (init, start, stop, interrupt, cleanup) run one at a time; info and status
  are answered at once. Without a handler the rig still answers (with the default data).
- Replies: EXPINFO `[64, status, {"main_sync": bool, "exp_ref": str | None, ...}]` (a main-sync
  rig must have an exp_ref: set `rig.exp_ref` or return `{"exp_ref": ...}` from `on_info`);
  EXPINIT `[1, {"exp_ref", "status", ...}]`; EXPSTART `[2, exp_ref, data | None]`;
  EXPSTATUS `[32, status]` (`on_status` may return `{"status": n}`); EXPEND, EXPINTERRUPT,
  EXPCLEANUP `[code, {"status", ...}]`. `rig.status` (an `ExpStatus`) moves to INITIALIZED,
  RUNNING, STOPPED after a successful init, start, stop/interrupt; `rig.exp_ref` follows the
  session. ALYX messages are echoed and ignored.
- `on_message(event: MessageEvent)` is called for EVERY lifecycle message received or sent
  (requests received, replies and error reports sent, error reports received). `MessageEvent`
  has `rig` (this rig's name), `direction` ("received" | "sent"), `kind` ("request" | "reply" |
  "error"), `peer` (host, port), `code`, `name` (e.g. "EXPINIT"), `payload` (the list after the
  code), `elapsed` (on replies: seconds the rig took to answer), `at` (time.time()). It is
  called synchronously on the event loop, must not block, may return an awaitable (run as a
  task); an exception in it is logged and never affects the protocol.

Main side::

    services = await Services.connect({"cam-left": "udp://10.0.0.5", "ephys": "tcp://10.0.0.6:9998"},
                                      timeout=10.0, on_message=record_event)
    control = SessionControl()    # control.stop() ends it with EXPEND, control.interrupt() with EXPINTERRUPT
    outcome = await run_session(services, "subject", duration=None, control=control, on_running=hook)
    services.close()

`Services` methods (`info`, `init`, `start`, `stop(immediately=)`, `status`, `cleanup`, each with
`concurrent=True`) return `{name: reply payload}` or raise `ServicesError` / `ServicesTimeout`
whose `.failed` names the rigs that failed. `run_session` returns a `SessionOutcome`
(`exp_ref`, `main_sync`, `ended_by` duration|stop|interrupt|error|cancelled, `interrupted`, `failures`, `error`,
`ok`). The command line (`labweb-rig session`) and the agent's session part both run this one sequence. URIs follow iblutil: no scheme
means udp, default port 11001, hostnames resolved (`parse_uri`).
"""

from rigs.echo.codes import DEFAULT_PORT, UDP_MAX_PAYLOAD, ExpMessage, ExpStatus
from rigs.echo.errors import (
    EchoError,
    EchoTimeout,
    RemoteError,
    ReplyTimeout,
    ServicesError,
    ServicesTimeout,
    SessionError,
)
from rigs.echo.events import MessageEvent, Observer
from rigs.echo.rig import EchoRig, Request
from rigs.echo.services import RemoteRig, Services
from rigs.echo.session import SessionControl, SessionOutcome, run_session, select_main_sync
from rigs.echo.transport import EchoEndpoint
from rigs.echo.uri import Endpoint, parse_uri
from rigs.echo.wire import Message, MessageTooLarge, decode, encode

__all__ = [
    "DEFAULT_PORT", "UDP_MAX_PAYLOAD", "ExpMessage", "ExpStatus",
    "EchoError", "EchoTimeout", "RemoteError", "ReplyTimeout", "ServicesError", "ServicesTimeout", "SessionError",
    "MessageEvent", "Observer", "EchoRig", "Request", "RemoteRig", "Services",
    "SessionControl", "SessionOutcome", "run_session", "select_main_sync", "EchoEndpoint", "Endpoint", "parse_uri",
    "Message", "MessageTooLarge", "decode", "encode",
]
