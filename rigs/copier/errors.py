"""What can go wrong copying a file, each naming the file concerned."""

from __future__ import annotations

from rigs.copier.journal import FileRecord


class CopyError(OSError):
    """A file could not be copied; `rel` names it."""

    def __init__(self, rel: str, message: str) -> None:
        super().__init__(f"{rel}: {message}")
        self.rel = rel


class VerifyMismatch(CopyError):
    """The destination does not hold the bytes that were read; the bad file has been removed."""


class SourceChanged(CopyError):
    """The source file changed while it was copied, so its hash describes nothing; copy it again later."""


class CopyCancelled(CopyError):
    """The caller asked the copy to stop."""


class CopyFailed(Exception):
    """Some files of a batch failed; the others were committed (and journaled) before this was raised."""

    def __init__(self, errors: list[BaseException], done: list[FileRecord]) -> None:
        super().__init__("; ".join(describe(e) for e in errors[:3]) + (" ..." if len(errors) > 3 else ""))
        self.errors = errors
        self.done = done


def describe(exc: BaseException) -> str:
    """One line for a failure: a CopyError already names its file."""
    return str(exc) if isinstance(exc, CopyError) else f"{type(exc).__name__}: {exc}"
