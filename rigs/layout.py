"""Session path, exp_ref, subject and device-tag rules shared by the whole rig side (DESIGN 4.2).

A session lives at `subject/yyyy-mm-dd/NNN`, optionally under `lab/Subjects/`. Its exp_ref is
`yyyy-mm-dd_n_subject` with the number unpadded; on the lab server the number is zero-padded to 3.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

# Path parsing accepts a dot in the subject so that the error can say what is wrong with it,
# rather than "not a session path".
_SUBJECT_IN_PATH = r"[\w.-]+"
_SUBJECT_OK = re.compile(r"[\w-]+")
# Dates and numbers are ASCII digits: \d alone also matches other scripts' digits, which int() reads as numbers.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_NUMBER = re.compile(r"\d{1,3}", re.ASCII)
_TAG_OK = re.compile(r"[\w-]+")
_EXP_REF = re.compile(rf"(?P<date>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})_(?P<number>[0-9]{{1,3}})_(?P<subject>{_SUBJECT_IN_PATH})")
SUBJECT_MAX = 64  # the dashboard's Subject.name holds 64 characters
# Names the dashboard's pages use (/subjects/add/), and names Windows will not give a folder (a rig PC's
# subjects folder holds one folder per subject).
RESERVED_SUBJECT_NAMES = frozenset(
    {"add", "con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)

DESCRIPTION_PREFIX = "_ibl_experiment.description"
DESCRIPTION_FILE = f"{DESCRIPTION_PREFIX}.yaml"  # untagged local file and the server's aggregate
DEVICES_DIR = "_devices"
TRANSFER_FLAG = "transfer_me.flag"
RAW_SESSION_FLAG = "raw_session.flag"
SNAPSHOTS_DIR = "snapshots"
# ibllib's server pipeline skips these subjects when it registers sessions.
SERVER_SKIPPED_SUBJECTS = ("test", "test_subject")


class LayoutError(ValueError):
    """A path, exp_ref, subject or tag that does not follow the session layout; the text says why."""


class SubjectNameError(LayoutError):
    """A subject name the lab server's pipeline cannot read (a dot, a space ...)."""


def subject_check(subject: str) -> str:
    """Return `subject` if it may name a subject, else raise SubjectNameError saying why.

    The one rule for every path that creates or reads a subject: the dashboard's forms, sessions reported by
    rigs, exp_refs arriving over the echo protocol, session folders on disk. A subject must be readable by the
    lab server (letters, digits, '_' and '-'), at most SUBJECT_MAX characters, and not a reserved name.
    """
    if not isinstance(subject, str) or not subject:
        raise SubjectNameError("a subject name is required")
    if len(subject) > SUBJECT_MAX:
        raise SubjectNameError(f"subject name of {len(subject)} characters is over the limit of {SUBJECT_MAX}")
    if _SUBJECT_OK.fullmatch(subject):
        if subject.lower() in RESERVED_SUBJECT_NAMES:
            raise SubjectNameError(f"subject name {subject!r} is reserved (by the dashboard's pages or by Windows); "
                                   "choose another")
        return subject
    if "." in subject:
        raise SubjectNameError(
            f"subject {subject!r} contains a dot: ibllib reads device stubs with [\\w-]+ so the lab server "
            "could not read this session; rename the subject (letters, digits, '_' and '-' only)"
        )
    raise SubjectNameError(f"subject {subject!r} may only hold letters, digits, '_' and '-'")


def tag_check(tag: str) -> str:
    """Return a device tag (`behavior`, `video`, `ephys`, any `[\\w-]+` name) or raise LayoutError."""
    if not _TAG_OK.fullmatch(tag or ""):
        raise LayoutError(f"device tag {tag!r} may only hold letters, digits, '_' and '-' (it is part of a stub name)")
    return tag


@dataclass(frozen=True, order=True)
class SessionRef:
    """One acquisition session: subject, date and number (lab is optional, only for `lab/Subjects/` paths)."""

    subject: str
    date: dt.date
    number: int
    lab: str | None = None

    def __post_init__(self) -> None:
        subject_check(self.subject)
        if not 0 <= self.number <= 999:
            raise LayoutError(f"session number {self.number} is not between 0 and 999")

    @property
    def exp_ref(self) -> str:
        """`yyyy-mm-dd_n_subject`, number unpadded."""
        return f"{self.date.isoformat()}_{self.number}_{self.subject}"

    @property
    def padded_number(self) -> str:
        return f"{self.number:03d}"

    def relative_path(self, *, padded: bool = True) -> PurePath:
        """`subject/yyyy-mm-dd/NNN` (no lab part): the shape used under any subjects folder."""
        number = self.padded_number if padded else str(self.number)
        return PurePath(self.subject, self.date.isoformat(), number)

    def path_under(self, subjects_dir: Path | str, *, padded: bool = True) -> Path:
        """This session's folder under a subjects folder (the server's always zero-pads)."""
        return Path(subjects_dir).joinpath(self.relative_path(padded=padded))


def session_parse(path: Path | str) -> SessionRef:
    """Read a session path ending in `subject/yyyy-mm-dd/N` (1-3 digits); raise LayoutError if it does not."""
    parts = PurePath(path).parts
    if len(parts) < 3:
        raise LayoutError(f"{path}: not a session path (expected .../subject/yyyy-mm-dd/NNN)")
    subject, date, number = parts[-3:]
    if not _NUMBER.fullmatch(number) or not _DATE.fullmatch(date) or not re.fullmatch(_SUBJECT_IN_PATH, subject):
        raise LayoutError(f"{path}: not a session path (expected .../subject/yyyy-mm-dd/NNN)")
    lab = parts[-5] if len(parts) >= 5 and parts[-4] == "Subjects" else None
    return SessionRef(subject=subject_check(subject), date=_date_parse(date, path), number=int(number), lab=lab)


def exp_ref_parse(exp_ref: str) -> SessionRef:
    """Read `yyyy-mm-dd_n_subject`; raise LayoutError (SubjectNameError for a bad subject)."""
    match = _EXP_REF.fullmatch(exp_ref) if isinstance(exp_ref, str) and len(exp_ref) <= 100 else None
    if not match:
        raise LayoutError(f"{exp_ref!r} is not an exp_ref (expected yyyy-mm-dd_n_subject)")
    return SessionRef(
        subject=subject_check(match["subject"]),
        date=_date_parse(match["date"], exp_ref),
        number=int(match["number"]),
    )


def exp_ref_check(exp_ref: object) -> str:
    """Return `exp_ref` if it is a valid `yyyy-mm-dd_n_subject` (real date, 1-3 digits, subject rules), else
    raise LayoutError saying why: call it on every exp_ref that arrives from outside (the echo protocol, a
    command) before it names a folder, a file or a record."""
    if not isinstance(exp_ref, str):
        raise LayoutError(f"an exp_ref must be a string, not {type(exp_ref).__name__}")
    exp_ref_parse(exp_ref)
    return exp_ref


def _date_parse(text: str, where: object) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise LayoutError(f"{where}: {text!r} is not a real date") from None


def description_name(tag: str | None = None) -> str:
    """Local description file name: `_ibl_experiment.description_<tag>.yaml`, or the untagged one."""
    return f"{DESCRIPTION_PREFIX}_{tag_check(tag)}.yaml" if tag else DESCRIPTION_FILE


def device_file_stem(exp_ref: str, tag: str) -> str:
    """`<exp_ref>@<tag>`: the stem shared by a device's stub, status, manifest and journal files."""
    exp_ref_parse(exp_ref)
    return f"{exp_ref}@{tag_check(tag)}"


def stub_name(exp_ref: str, tag: str) -> str:
    """Remote stub file name inside `_devices/`."""
    return f"{device_file_stem(exp_ref, tag)}.yaml"
