"""The agent's copier: this rig's sessions to the lab server, one at a time, every byte reported to the dashboard.

Installed when `data.remote_subjects` (and `data.local_subjects`) are configured; the device tag is the rig's
`kind`; settings come from the config's `transfer:` section.

Actions (dashboard commands):
    transfer.run     {subject?: glob, date?: glob, exp_ref?: str}  queues the local sessions flagged
                     `transfer_me.flag` that match and replies at once with what was queued (a copy outlives
                     the command's time-out); fails when nothing matches.
    transfer.verify  {exp_ref | session: "subject/yyyy-mm-dd/NNN", tag?: str, id?: transfer id}  re-hashes the
                     server copy against this device's manifest; replies with the summary, fails if a file is bad.

For the session part (given this part by rigs.agent.assembly): `await copier.queue_session(session_dir)` queues
one session for copying; it is called when a session ends, after writing `transfer_me.flag`. It returns False when the
session is already queued or being copied. Scheduled runs (`transfer.schedule_minutes`) queue every flagged
session, then clean up local sessions older than `transfer.cleanup_weeks` whose server copy re-verifies.

One worker thread copies the queued sessions one after the other (never two transfers at once on a rig), and a
failure in one session never stops the next. Stopping the agent cancels the copy under way; the next run
resumes it (the copier keeps what was verified).

Live status `transfer`: rigs.messages.TransferStatus (the copy under way, how many wait, the latest outcomes).

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
from typing import Any

from rigs.config import TransferConfig
from rigs.copier import CopyEngine, Progress, TransferResult, sessions_cleanup, sessions_flagged, transfer, verify
from rigs.layout import TRANSFER_FLAG, LayoutError, SessionRef, exp_ref_parse, session_parse, tag_check
from rigs.link import CommandFailed
from rigs.messages import TransferOutcome, TransferStatus
from rigs.parts.base import Emit

log = logging.getLogger(__name__)

CHUNK_FILES = 500
CHUNK_BYTES = 256 * 1024  # well under MAX_MESSAGE_BYTES, whatever the paths' length
MAX_BAD_REPORTED = 100
RUN_PARAMS = {"subject", "date", "exp_ref"}
VERIFY_PARAMS = {"exp_ref", "session", "tag", "id"}
JOIN_SECONDS = 8.0
RECENT_OUTCOMES = 5
CLEANUP = Path()  # the queue item that asks for a clean-up after the scheduled sessions


class CopierPart:
    key = "transfer"

    def __init__(self, *, rig: str, tag: str, local: Path, remote: Path, settings: TransferConfig,
                 emit: Emit) -> None:
        self.local, self.remote = local, remote
        self.tag = tag_check(tag)
        self.settings = settings
        self._emit = emit
        self.cancel = threading.Event()
        self._queue: queue.Queue[tuple[Path, str] | None] = queue.Queue()
        self._waiting: dict[Path, str] = {}  # queued or being copied -> trigger
        self._lock = threading.Lock()
        self._progress: Progress | None = None  # the copy under way
        self._recent: list[TransferOutcome] = []  # newest first
        self._thread = threading.Thread(target=self._work, name=f"copier-{rig}", daemon=True)

    def actions(self) -> dict[str, Any]:
        return {"transfer.run": self.run, "transfer.verify": self.verify_now}

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
        self._emit("transfer.verified", summary)
        if not report.ok:
            names = ", ".join(f"{c.path} ({c.status})" for c in bad[:3]) + (" ..." if len(bad) > 3 else "")
            raise CommandFailed("; ".join(report.errors) if report.errors else f"{len(bad)} of {len(report.files)} files differ: {names}")
        return {k: summary[k] for k in ("exp_ref", "tag", "ok", "files", "bad_count")}

    def status(self) -> TransferStatus | None:
        progress, recent = self._progress, [o.__dict__ for o in self._recent]
        if progress is None and not recent:
            return None
        queued = max(0, len(self._waiting) - (1 if progress else 0))
        if progress is None:
            return TransferStatus(queued=queued, recent=recent)
        return TransferStatus(active=True, exp_ref=progress.exp_ref, bytes_done=progress.bytes_done,
                              bytes_total=progress.bytes_total, files_done=progress.files_done,
                              files_total=progress.files_total, rate=round(progress.rate, 1),
                              eta=None if progress.eta is None else round(progress.eta, 1),
                              current=progress.current_file, queued=queued, recent=recent)

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
            self._emit("transfer.cleanup", {"weeks": weeks, "results": done[:200]})

    def _transfer(self, session: Path, trigger: str) -> TransferResult:
        transfer_id = uuid.uuid4().hex
        exp_ref, relative = _identify(session, self.local)
        base = {"id": transfer_id, "exp_ref": exp_ref, "session": relative, "tag": self.tag}
        destination = self.remote.joinpath(relative) if exp_ref else self.remote
        self._emit("transfer.started", {**base, "source": str(session), "destination": str(destination),
                                        "trigger": trigger})
        self._progress = Progress(exp_ref, 0, 0, 0, 0, 0.0, None, "")
        log.info("copying %s to %s (%s)", session, self.remote, trigger)
        try:
            engine = CopyEngine(algorithm=self.settings.hash, verify=self.settings.verify, cancel=self.cancel)
            rate = self.settings.max_rate_mb_s
            result = transfer(session, remote_subjects=self.remote, tag=self.tag, engine=engine,
                              expected_devices=self.settings.expected_devices, progress=self._on_progress,
                              max_rate=rate * 1e6 if rate else None)
        except Exception as exc:  # noqa: BLE001 - the copier reports session problems itself; this is anything else
            log.exception("transfer of %s failed", session)
            result = TransferResult(tag=self.tag, session=relative, exp_ref=exp_ref, source=str(session),
                                    destination=str(destination), error=f"{type(exc).__name__}: {exc}")
        if self.cancel.is_set() and not result.ok:
            result.error = f"stopped with the agent; the next run resumes it ({result.error})"
        chunks = self._emit_files(base, result)
        self._emit("transfer.done" if result.ok else "transfer.failed",
                   {"id": transfer_id, "trigger": trigger, "chunks": chunks, **result.to_dict()})
        outcome = TransferOutcome(exp_ref=exp_ref, outcome=result.outcome, error=result.error, bytes=result.bytes,
                                  files=result.files, ended=time.time())
        self._recent = [outcome, *self._recent][:RECENT_OUTCOMES]
        self._progress = None
        log.info("%s %s: %s", result.outcome, exp_ref, result.error or result.message)
        return result

    def _on_progress(self, progress: Progress) -> None:
        self._progress = progress

    def _emit_files(self, base: dict[str, Any], result: TransferResult) -> int:
        """The device's files on the server, in events small enough for the link; returns how many were sent."""
        chunks = manifest_chunks([[e.path, e.size, e.hash] for e in result.entries])
        for index, files in enumerate(chunks):
            self._emit("transfer.files", {"id": base["id"], "exp_ref": base["exp_ref"], "tag": self.tag,
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
