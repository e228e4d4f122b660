"""Re-check a server session against its transfer manifests: every file present, same size, same hash."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rigs.copier.fileio import file_hash
from rigs.copier.manifest import Manifest, ManifestEntry, ManifestError, manifest_read, manifests_find


@dataclass(frozen=True)
class FileCheck:
    """One file's verdict: status is ok, missing, size (wrong size), hash (wrong content) or error (unreadable)."""

    path: str
    tag: str
    status: str
    expected_size: int
    actual_size: int | None
    expected_hash: str
    actual_hash: str | None
    algorithm: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class VerifyReport:
    session: str
    manifests: list[str] = field(default_factory=list)
    files: list[FileCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # manifests missing or unreadable

    @property
    def ok(self) -> bool:
        return bool(self.manifests) and not self.errors and all(f.ok for f in self.files)

    @property
    def bad(self) -> list[FileCheck]:
        return [f for f in self.files if not f.ok]

    def to_dict(self) -> dict[str, object]:
        return {
            "session": self.session,
            "ok": self.ok,
            "manifests": self.manifests,
            "errors": self.errors,
            "files": [asdict(f) for f in self.files],
        }


def verify(
    remote_session: Path | str,
    *,
    tag: str | None = None,
    workers: int = 2,
    on_bytes: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Re-hash every file listed in the session's manifests (one device's with `tag`), reading from storage.

    Reads never write; the server session is left exactly as it was.
    """
    remote_session = Path(remote_session)
    report = VerifyReport(session=str(remote_session))
    manifests = [m for m in manifests_find(remote_session) if tag is None or m.name.endswith(f"@{tag}.manifest.json")]
    if not manifests:
        report.errors.append(f"no transfer manifest in {remote_session / '_devices'}")
        return report
    checks: list[tuple[Manifest, ManifestEntry]] = []
    for path in manifests:
        try:
            manifest = manifest_read(path)
        except ManifestError as exc:
            report.errors.append(str(exc))
            continue
        report.manifests.append(str(path))
        checks.extend((manifest, entry) for entry in manifest.files)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="verify") as pool:
        report.files = list(pool.map(lambda c: file_check(remote_session, c[0], c[1], on_bytes), checks))
    return report


def file_check(
    remote_session: Path, manifest: Manifest, entry: ManifestEntry, on_bytes: Callable[[int], None] | None = None
) -> FileCheck:
    path = remote_session.joinpath(*entry.path.split("/"))

    def result(status: str, size: int | None = None, digest: str | None = None, message: str = "") -> FileCheck:
        return FileCheck(entry.path, manifest.tag, status, entry.size, size, entry.hash, digest, manifest.algorithm, message)

    try:
        with open(path, "rb", buffering=0) as fh:
            size = path.stat().st_size
            if size != entry.size:
                return result("size", size, None, f"{size} bytes, manifest says {entry.size}")
            digest = file_hash(fh, manifest.algorithm, uncached=True, on_bytes=on_bytes)
    except FileNotFoundError:
        return result("missing", message="not on the server")
    except OSError as exc:
        return result("error", message=str(exc))
    if digest != entry.hash:
        return result("hash", size, digest, "content differs from what was copied")
    return result("ok", size, digest)
