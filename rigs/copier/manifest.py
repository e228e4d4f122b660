"""The transfer manifest: what one device put in a server session (relative path, size, hash, algorithm).

Written beside the device stub as `<exp_ref>@<tag>.manifest.json` once every file is verified, so the
transfer can be re-audited at any later time (`rigs.copier.verify`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"


class ManifestError(ValueError):
    """A manifest that cannot be read."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # relative to the server session folder, '/'-separated
    size: int
    hash: str


@dataclass(frozen=True)
class Manifest:
    exp_ref: str
    tag: str
    algorithm: str
    source: str  # the local session folder the files came from
    created: str  # ISO 8601, UTC
    files: list[ManifestEntry] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every field and costs ~25 us per entry
        head = {name: getattr(self, name) for name in ("exp_ref", "tag", "algorithm", "source", "created")}
        files = [{"path": f.path, "size": f.size, "hash": f.hash} for f in self.files]
        return {"version": MANIFEST_VERSION, **head, "files": files, "total_bytes": self.total_bytes}


def manifest_write(path: Path, manifest: Manifest) -> Path:
    """Write atomically: a manifest is either whole or absent."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.labweb-tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(_dumps(manifest.to_dict()))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _dumps(data: dict[str, Any]) -> str:
    """Indented JSON with one line per file: readable, and built by the C encoder (indent=1 is pure Python,
    ~5 ms per 3000 files)."""
    lines = []
    for key, value in data.items():
        if key == "files" and value:
            rows = ",\n".join("  " + json.dumps(entry) for entry in value)
            lines.append(f' "files": [\n{rows}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def manifest_read(path: Path) -> Manifest:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Manifest(
            exp_ref=data["exp_ref"],
            tag=data["tag"],
            algorithm=data["algorithm"],
            source=data["source"],
            created=data["created"],
            files=[ManifestEntry(path=f["path"], size=int(f["size"]), hash=f["hash"]) for f in data["files"]],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc


def manifests_find(remote_session: Path) -> list[Path]:
    """Every device's manifest in a server session."""
    return sorted(Path(remote_session, "_devices").glob(f"*{MANIFEST_SUFFIX}"))
