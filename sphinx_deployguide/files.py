"""Reading files of the deploy repo and the model safely: located errors, never a traceback.

Two rules every reader follows:

* a path named by the model or the docs stays inside its repository: :func:`inside` resolves
  it (symlinks included) and refuses one that leaves the root, so no file outside the repos
  is ever read or written;
* a file that is missing, a folder, unreadable or not UTF-8 is one :class:`FileProblem`
  naming the file and, for bad bytes, the byte offset and line: :func:`read_text`.
"""

from __future__ import annotations

import stat
from pathlib import Path

from .errors import DeployGuideError

__all__ = ["FileProblem", "decode_text", "inside", "not_a_file", "read_text"]

BOM = "\ufeff"


class FileProblem(DeployGuideError, ValueError):
    """A file cannot be read as text (also a ``ValueError``, as parse errors are)."""


def inside(root: Path, relative: str | Path) -> Path | None:
    """``root / relative`` resolved (symlinks followed), or None if it leaves ``root``."""
    base = Path(root).resolve()
    try:
        path = (base / relative).resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL, a symlink loop
        return None
    return path if path.is_relative_to(base) else None


def not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists but is no regular file (``"a folder"``, ``"a FIFO
    (named pipe)"``, ...); None for a regular file or a path that does not exist. Reading
    a FIFO would wait for a writer forever, so it is never read."""
    try:
        mode = Path(path).stat().st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def decode_text(data: bytes, file: str | Path) -> str:
    """UTF-8 ``data`` as text without a leading BOM; else a FileProblem with the offset."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be "
            "decoded; save the file as UTF-8",
            file=file,
            line=line,
        ) from None
    return text.removeprefix(BOM)


def read_text(path: Path, *, display: str | Path | None = None) -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped); FileProblem naming ``display``."""
    file = display if display is not None else path
    kind = not_a_file(path)
    if kind is not None:
        raise FileProblem(f"is {kind}, not a regular file", file=file)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileProblem("the file does not exist", file=file) from None
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    except ValueError as exc:  # an embedded NUL in the path
        raise FileProblem(f"invalid file name: {exc}", file=file) from None
    return decode_text(data, file)
