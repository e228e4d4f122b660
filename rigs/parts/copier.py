"""The agent's copier: this rig's sessions to the lab server, one at a time, every byte reported to the dashboard.

Installed when `data.remote_subjects` (and `data.local_subjects`) are configured; the device tag is the rig's
`kind`; settings come from the config's `transfer:` section.

Actions (dashboard commands):
    transfer.run     {subject?: glob, date?: glob, exp_ref?: str}  queues the local sessions flagged
                     `transfer_me.flag` that match and replies at once with what was queued (a copy outlives
                     the command's time-out); fails when nothing matches.
    transfer.verify  {exp_ref | session: "subject/yyyy-mm-dd/NNN", tag?: str, id?: transfer id}  re-hashes the
                     server copy against this device's manifest; replies with the summary, fails if a file is bad.

For other parts: `await agent.parts["copier"].queue_session(session_dir)` queues one session for copying;
the session part calls it when a session ends, after writing `transfer_me.flag`. It returns False when the
session is already queued or being copied. Scheduled runs (`transfer.schedule_minutes`) queue every flagged
session, then clean up local sessions older than `transfer.cleanup_weeks` whose server copy re-verifies.

One worker thread copies the queued sessions one after the other (never two transfers at once on a rig), and a
failure in one session never stops the next. Stopping the agent cancels the copy under way; the next run
resumes it (the copier keeps what was verified).

Live status `transfer`: active, exp_ref, bytes_done, bytes_total, files_done, files_total, rate (B/s), eta (s),
current (file being copied), error, outcome (of the last transfer), queued (sessions waiting).

Durable events (`id` is the transfer's own id, so chunks and outcome meet on the dashboard):
    transfer.started   {id, exp_ref, session, tag, source, destination, trigger}
    transfer.files     {id, exp_ref, tag, chunk, chunks, files: [[path, size, hash], ...]}  the manifest, at most
                       500 files and 256 KB per event (events are capped at MAX_MESSAGE_BYTES)
    transfer.done      {id, trigger, chunks, **TransferResult.to_dict()}  outcome complete or finalized
    transfer.failed    {id, trigger, chunks, **TransferResult.to_dict()}  outcome failed, error says why
    transfer.verified  {id, exp_ref, session, tag, ok, files, bad_count, bad: [...], errors, manifests}
    transfer.cleanup   {weeks, results: [CleanupResult.to_dict(), ...]}  (only when something was deleted or failed)
trigger is operator (transfer.run), session (queue_session) or schedule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
import uuid
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from rigs.copier import (
    CopyEngine,
    Progress,
    TransferResult,
    manifest_read,
    sessions_cleanup,
    sessions_flagged,
    transfer,
    verify,
)
from rigs.copier.manifest import ManifestError
from rigs.copier.progress import ProgressTracker
from rigs.layout import TRANSFER_FLAG, LayoutError, SessionRef, exp_ref_parse, session_parse, tag_check
from rigs.link import CommandFailed

if TYPE_CHECKING:
    from rigs.agent import Agent

log = logging.getLogger(__name__)

CHUNK_FILES = 500
CHUNK_BYTES = 256 * 1024  # well under MAX_MESSAGE_BYTES, whatever the paths' length
MAX_BAD_REPORTED = 100
RUN_PARAMS = {"subject", "date", "exp_ref"}
VERIFY_PARAMS = {"exp_ref", "session", "tag", "id"}
JOIN_SECONDS = 8.0
CLEANUP = Path()  # the queue item that asks for a clean-up after the scheduled sessions


class RatePacer:
    """Holds a copy to `max_rate` bytes/s: a copy thread that counts bytes beyond the budget waits (the cancel
    event cuts a wait short)."""

    def __init__(self, max_rate: float | None, cancel: threading.Event) -> None:
        self.max_rate = max_rate
        self.cancel = cancel
        self.start = time.monotonic()

    def pace(self, bytes_done: int) -> None:
        if not self.max_rate:
            return
        while not self.cancel.is_set():
            ahead = bytes_done / self.max_rate - (time.monotonic() - self.start)
            if ahead <= 0:
                return
            self.cancel.wait(min(ahead, 1.0))


class _PacedProgress:
    """The copier's progress tracker, with a wait after each count of bytes (on the copy thread that counted)."""

    def __init__(self, tracker: ProgressTracker, pacer: RatePacer) -> None:
        self.tracker, self.pacer = tracker, pacer

    def file_started(self, rel: str) -> None:
        self.tracker.file_started(rel)

    def add_bytes(self, count: int) -> None:
        self.tracker.add_bytes(count)
        self.pacer.pace(self.tracker.bytes_done)

    def file_done(self, rel: str) -> None:
        self.tracker.file_done(rel)


class PacedEngine(CopyEngine):
    """A CopyEngine held to `max_rate` bytes/s (transfer.max_rate_mb_s), so a copy leaves the network room."""

    def __init__(self, *, max_rate: float, **options: Any) -> None:
        super().__init__(**options)
        self.max_rate = max_rate

    def copy(self, jobs, *, journal=None, progress: ProgressTracker | None = None):
        if progress is not None:
            progress = _PacedProgress(progress, RatePacer(self.max_rate, self.cancel))
        return super().copy(jobs, journal=journal, progress=progress)


class CopierPart:
    def __init__(self, agent: "Agent") -> None:
        config = agent.config
        self.agent = agent
        self.local: Path = config.local_subjects
        self.remote: Path = config.remote_subjects
        self.tag = tag_check(config.kind)
        self.settings = config.transfer
        self.cancel = threading.Event()
        self._queue: queue.Queue[tuple[Path, str] | None] = queue.Queue()
        self._waiting: dict[Path, str] = {}  # queued or being copied -> trigger
        self._lock = threading.Lock()
        self._status: dict[str, Any] | None = None
        self._thread = threading.Thread(target=self._work, name=f"copier-{config.name}", daemon=True)

    def install(self) -> None:
        self.agent.add_action("transfer.run", self.run)
        self.agent.add_action("transfer.verify", self.verify_now)
        self.agent.add_status("transfer", self.status)
        self.agent.add_starter(self.start)
        self.agent.add_closer(self.close)

    async def start(self) -> None:
        """The worker starts with the agent's loop, so its events always have a loop to go through."""
        self._thread.start()

    # -- for the dashboard and other parts -----------------------------------------------------------------
    async def run(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        params = params or {}
        _check_params("transfer.run", params, RUN_PARAMS)
        sessions = await asyncio.to_thread(self._find, params)
        queued = [_identify(s, self.local)[0] for s in sessions if self._enqueue(s, "operator")]
        if not sessions and not self.busy():
            where = ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "any session"
            raise CommandFailed(f"no session holds {TRANSFER_FLAG} in {self.local} ({where})")
        return {"queued": queued, "waiting": self.waiting()}

    async def queue_session(self, session_dir: Path | str, *, trigger: str = "session") -> bool:
        """Copy this session soon (after whatever is under way); False if it is already queued or running."""
        return self._enqueue(Path(session_dir), trigger)

    async def verify_now(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        params = params or {}
        _check_params("transfer.verify", params, VERIFY_PARAMS)
        try:
            ref = _session_ref(params)
            tag = tag_check(str(params.get("tag") or self.tag))
        except LayoutError as exc:
            raise CommandFailed(f"transfer.verify: {exc}") from None
        remote_session = ref.path_under(self.remote)
        report = await asyncio.to_thread(verify, remote_session, tag=tag)
        bad = report.bad
        summary = {
            "id": params.get("id"),
            "exp_ref": ref.exp_ref,
            "session": ref.relative_path().as_posix(),
            "tag": tag,
            "ok": report.ok,
            "files": len(report.files),
            "bad_count": len(bad),
            "bad": [{"path": c.path, "status": c.status, "message": c.message} for c in bad[:MAX_BAD_REPORTED]],
            "errors": report.errors[:10],
            "manifests": report.manifests,
        }
        self.agent.emit("transfer.verified", summary)
        if not report.ok:
            names = ", ".join(f"{c.path} ({c.status})" for c in bad[:3]) + (" ..." if len(bad) > 3 else "")
            raise CommandFailed("; ".join(report.errors) if report.errors else f"{len(bad)} of {len(report.files)} files differ: {names}")
        return {k: summary[k] for k in ("exp_ref", "tag", "ok", "files", "bad_count")}

    def status(self) -> dict[str, Any] | None:
        status = self._status
        if status is None:
            return None
        return {**status, "queued": max(0, len(self._waiting) - (1 if status.get("active") else 0))}

    def busy(self) -> bool:
        return bool(self._waiting)

    def waiting(self) -> int:
        return len(self._waiting)

    async def close(self) -> None:
        self.cancel.set()
        self._queue.put(None)
        if not self._thread.is_alive():
            return
        await asyncio.to_thread(self._thread.join, JOIN_SECONDS)
        if self._thread.is_alive():
            log.warning("the copier did not stop within %.0f s", JOIN_SECONDS)

    # -- the worker ----------------------------------------------------------------------------------------
    def _enqueue(self, session: Path, trigger: str) -> bool:
        with self._lock:
            if session in self._waiting or self.cancel.is_set():
                return False
            self._waiting[session] = trigger
        self._queue.put((session, trigger))
        return True

    def _find(self, params: dict[str, Any]) -> list[Path]:
        if params.get("exp_ref"):
            try:
                ref = exp_ref_parse(str(params["exp_ref"]))
            except LayoutError as exc:
                raise CommandFailed(f"transfer.run: {exc}") from None
            found = sessions_flagged(self.local, subject=ref.subject, date=ref.date.isoformat())
            return [s for s in found if int(s.name) == ref.number]
        subject, date = str(params.get("subject") or "*"), str(params.get("date") or "*")
        for name, glob in (("subject", subject), ("date", date)):
            if "/" in glob or "\\" in glob or ".." in glob:
                raise CommandFailed(f"transfer.run: {name} must be a name or a glob, not a path ({glob!r})")
        return sessions_flagged(self.local, subject=subject, date=date)

    def _work(self) -> None:
        minutes = self.settings.schedule_minutes
        while not self.cancel.is_set():
            try:
                item = self._queue.get(timeout=minutes * 60 if minutes else None)
            except queue.Empty:
                self._scheduled()
                continue
            if item is None:
                break
            session, trigger = item
            try:
                if session is CLEANUP:
                    self._cleanup(self.settings.cleanup_weeks)
                else:
                    self._transfer(session, trigger)
            except Exception:  # noqa: BLE001 - the worker outlives any one session
                log.exception("transfer of %s failed", session)
            finally:
                with self._lock:
                    self._waiting.pop(session, None)

    def _scheduled(self) -> None:
        try:
            for session in sessions_flagged(self.local):
                self._enqueue(session, "schedule")
        except Exception:  # noqa: BLE001 - a scheduled scan that fails is tried again next time
            log.exception("scheduled transfer scan of %s failed", self.local)
        if self.settings.cleanup_weeks:
            self._queue.put((CLEANUP, "schedule"))  # after the sessions just queued

    def _cleanup(self, weeks: float) -> None:
        results = sessions_cleanup(self.local, remote_subjects=self.remote, tag=self.tag, weeks=weeks)
        done = [r.to_dict() for r in results if r.outcome in ("deleted", "failed")]
        if done:
            self.agent.emit("transfer.cleanup", {"weeks": weeks, "results": done[:200]})

    def _transfer(self, session: Path, trigger: str) -> TransferResult:
        transfer_id = uuid.uuid4().hex
        exp_ref, relative = _identify(session, self.local)
        base = {"id": transfer_id, "exp_ref": exp_ref, "session": relative, "tag": self.tag}
        destination = self.remote.joinpath(relative) if exp_ref else self.remote
        self.agent.emit("transfer.started", {**base, "source": str(session), "destination": str(destination),
                                             "trigger": trigger})
        self._status = {"active": True, "exp_ref": exp_ref, "bytes_done": 0, "bytes_total": 0, "files_done": 0,
                        "files_total": 0, "rate": 0.0, "eta": None, "current": "", "error": None, "outcome": None}
        self.agent.activity = f"copying {exp_ref}"
        log.info("copying %s to %s (%s)", session, self.remote, trigger)
        try:
            options = {"algorithm": self.settings.hash, "verify": self.settings.verify, "cancel": self.cancel}
            rate = self.settings.max_rate_mb_s
            engine = PacedEngine(max_rate=rate * 1e6, **options) if rate else CopyEngine(**options)
            result = transfer(session, remote_subjects=self.remote, tag=self.tag,
                              expected_devices=self.settings.expected_devices, progress=self._progress, engine=engine)
        except Exception as exc:  # noqa: BLE001 - the copier reports session problems itself; this is anything else
            log.exception("transfer of %s failed", session)
            result = TransferResult(tag=self.tag, session=relative, exp_ref=exp_ref, source=str(session),
                                    destination=str(destination), error=f"{type(exc).__name__}: {exc}")
        if self.cancel.is_set() and not result.ok:
            result.error = f"stopped with the agent; the next run resumes it ({result.error})"
        chunks = self._emit_files(base, result)
        self.agent.emit("transfer.done" if result.ok else "transfer.failed",
                        {"id": transfer_id, "trigger": trigger, "chunks": chunks, **result.to_dict()})
        status = dict(self._status, active=False, error=result.error, outcome=result.outcome, current="", eta=None)
        if result.ok and not status["bytes_total"]:  # everything was on the server already
            status.update(bytes_done=result.bytes, bytes_total=result.bytes, files_done=result.files,
                          files_total=result.files)
        self._status = status
        self.agent.activity = ""
        log.info("%s %s: %s", result.outcome, exp_ref, result.error or result.message)
        return result

    def _progress(self, p: Progress) -> None:
        self._status = {"active": True, "exp_ref": p.exp_ref, "bytes_done": p.bytes_done,
                        "bytes_total": p.bytes_total, "files_done": p.files_done, "files_total": p.files_total,
                        "rate": round(p.rate, 1), "eta": None if p.eta is None else round(p.eta, 1),
                        "current": p.current_file, "error": None, "outcome": None}

    def _emit_files(self, base: dict[str, Any], result: TransferResult) -> int:
        """The manifest, in events small enough for the link; returns how many were sent."""
        if not result.manifest:
            return 0
        try:
            manifest = manifest_read(Path(result.manifest))
        except ManifestError as exc:
            log.warning("transfer %s: %s", base["id"], exc)
            return 0
        chunks = manifest_chunks([[f.path, f.size, f.hash] for f in manifest.files])
        for index, files in enumerate(chunks):
            self.agent.emit("transfer.files", {"id": base["id"], "exp_ref": base["exp_ref"], "tag": self.tag,
                                               "chunk": index, "chunks": len(chunks), "files": files})
        return len(chunks)


def manifest_chunks(files: list[list[Any]], *, max_files: int = CHUNK_FILES, max_bytes: int = CHUNK_BYTES) -> list[list]:
    """Split manifest rows into chunks of at most `max_files` rows and about `max_bytes` of JSON each."""
    chunks: list[list] = []
    current: list = []
    size = 0
    for row in files:
        row_bytes = len(json.dumps(row)) + 1
        if current and (len(current) >= max_files or size + row_bytes > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(row)
        size += row_bytes
    if current:
        chunks.append(current)
    return chunks


def _check_params(action: str, params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise CommandFailed(f"{action}: unknown parameter {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _session_ref(params: dict[str, Any]) -> SessionRef:
    if params.get("exp_ref"):
        return exp_ref_parse(str(params["exp_ref"]))
    if params.get("session"):
        path = PurePath(str(params["session"]).replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or len(path.parts) != 3:
            raise LayoutError(f"session {params['session']!r} must be subject/yyyy-mm-dd/NNN under the server's subjects folder")
        return session_parse(path)
    raise LayoutError("give exp_ref or session (subject/yyyy-mm-dd/NNN)")


def _identify(session: Path, root: Path) -> tuple[str, str]:
    """The session's exp_ref and its server path `subject/yyyy-mm-dd/NNN` ('' and the local path if unparseable;
    the transfer then fails and says why)."""
    try:
        ref = session_parse(session)
    except LayoutError:
        try:
            return "", session.relative_to(root).as_posix()
        except ValueError:
            return "", str(session)
    return ref.exp_ref, ref.relative_path().as_posix()


def install(agent: "Agent") -> CopierPart | None:
    config = agent.config
    if config.remote_subjects is None:
        return None
    if config.local_subjects is None:
        log.warning("data.remote_subjects is set but data.local_subjects is not: nothing to copy, no copier")
        return None
    part = CopierPart(agent)
    part.install()
    return part
