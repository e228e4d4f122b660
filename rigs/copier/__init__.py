"""The session copier: a rig's share of each session to the lab server, verified, in iblrig v8's layout.

The on-disk layout is iblrig's (DESIGN 4.2), so labweb rigs and iblrig rigs can share a session and the
server pipeline sees nothing new: `_devices/<exp_ref>@<tag>.yaml` stubs with one `.status_pending|complete|
final` file each, `_ibl_experiment.description.yaml` merged at finalize, then `raw_session.flag`.
Beside each stub, labweb keeps `<exp_ref>@<tag>.manifest.json` (path, size, hash of every file) and, while a
copy is under way, `<exp_ref>@<tag>.journal.jsonl` (what is already verified, for the resume).

API for the agent (all paths are pathlib.Path or str; nothing here raises for one bad session):

    session_state(session_dir | SessionRef, *, remote_subjects, tag) -> StateReport
        .state: CopyState 0 NOT_REGISTERED, 1 PENDING, 2 COMPLETE, 3 FINALIZED, or None (unreachable)
        .message: the sentence for operators. Reads only; never writes anywhere.
    session_initialize(session_dir, *, remote_subjects, tag, description=None) -> StateReport
        At acquisition start (EXPINIT / spool start): writes `_ibl_experiment.description_<tag>.yaml`
        locally, then the remote stub and `.status_pending`. Raises RemoteError if the server is down
        (the local file is written anyway; the transfer registers later).
    sessions_flagged(local_subjects, *, subject="*", date="*") -> list[Path]
        Local sessions holding `transfer_me.flag`.
    transfer(session_dir, *, remote_subjects, tag, expected_devices=None, dry=False,
             progress=None, engine=None) -> TransferResult
        Registers if needed, copies every collection of the device's description (globs included) and
        `snapshots/` (never over another PC's file), writes the manifest, marks the device complete, removes
        the local `transfer_me.flag`, and finalizes the session when all expected devices are complete.
        `progress(Progress)` is called at most 4 times a second from the copy threads with
        exp_ref, bytes_done, bytes_total, files_done, files_total, rate (B/s), eta (s or None),
        current_file, finished. `engine=CopyEngine(algorithm="blake3" (default) or a hashlib name, workers=3, verify="sample"|"full",
        cancel=threading.Event())` sets the hash, parallelism and verification, and lets the agent stop a copy.
    transfer_all(sessions, *, remote_subjects, tag, **transfer options) -> list[TransferResult]
    TransferResult.to_dict() keys: tag, session, exp_ref, source, destination, files, bytes, files_copied,
        bytes_copied, hash_algorithm, manifest, verified, outcome ("complete" | "finalized" | "failed" | "dry"),
        error, state_before, state_after, message, start, end (ISO 8601 UTC), seconds.
    verify(remote_session_dir, *, tag=None, workers=2) -> VerifyReport
        Re-hashes every file of the session's manifests from storage; `.ok`, `.bad`, `.files` (FileCheck:
        path, tag, status ok|missing|size|hash|error, expected/actual size and hash), `.to_dict()`.
    session_finalize(remote_session_dir, *, expected_devices=None) -> FinalizeReport
    sessions_cleanup(local_subjects, *, remote_subjects, tag, weeks, dry=False) -> list[CleanupResult]
        Deletes local files of sessions older than `weeks` only after the server copy is re-hashed against
        the manifest.

An interrupted transfer (killed, share gone, disk full) is simply run again: files verified by an earlier run
are skipped after a stat, a large file resumes from its last checkpoint, and the result is byte-identical.
"""

from rigs.copier.cleanup import CleanupResult, sessions_cleanup
from rigs.copier.description import DescriptionError, SyncConflictError, description_merge
from rigs.copier.engine import CopyEngine
from rigs.copier.find import sessions_flagged
from rigs.copier.manifest import Manifest, manifest_read
from rigs.copier.progress import Progress
from rigs.copier.session import FinalizeReport, RemoteError, session_finalize, session_initialize
from rigs.copier.state import CopyState, StateReport, session_state
from rigs.copier.transfer import TransferResult, transfer, transfer_all
from rigs.copier.verify import FileCheck, VerifyReport, verify

__all__ = [
    "CleanupResult",
    "CopyEngine",
    "CopyState",
    "DescriptionError",
    "FileCheck",
    "FinalizeReport",
    "Manifest",
    "Progress",
    "RemoteError",
    "StateReport",
    "SyncConflictError",
    "TransferResult",
    "VerifyReport",
    "description_merge",
    "manifest_read",
    "session_finalize",
    "session_initialize",
    "session_state",
    "sessions_cleanup",
    "sessions_flagged",
    "transfer",
    "transfer_all",
    "verify",
]
