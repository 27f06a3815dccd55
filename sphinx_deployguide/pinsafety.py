"""Guards around writing a pin file (used by ``deployguide bump``).

* :func:`real_pin`: the file a pin really is (a symlink inside the deploy repo is followed:
  its target is what is edited and committed; one pointing out of the repo was refused when
  the model was loaded), with its path as git names it.
* :func:`check_writable`: a read-only pin file is refused, never replaced behind the
  user's back (an atomic rename would succeed even so).
* :func:`undo_interrupted_edit`: a ``bump --commit`` killed between writing the pin and
  committing it leaves the bump branch checked out with exactly the planned edit in the work
  tree; the next run puts the committed bytes back and starts over, instead of refusing a
  "dirty" pin file forever.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DeployGuideError
from .git import GitRepo
from .pinedit import PinEditError, atomic_write_bytes, replace_pin

if TYPE_CHECKING:
    from .config import PinSpec

__all__ = ["check_writable", "real_pin", "undo_interrupted_edit"]


def real_pin(deploy: GitRepo, pin_path: Path) -> str:
    """The pin file's path relative to the top of the deploy repo, symlinks resolved."""
    top = Path(deploy.run("rev-parse", "--show-toplevel")).resolve()
    return pin_path.resolve().relative_to(top).as_posix()


def check_writable(path: Path, *, file: str, key: str) -> None:
    """Refuse a pin file that is read-only (by its mode, or for this user)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise PinEditError(
            f"cannot read the pin file: {exc.strerror}", file=file, key=key
        ) from None
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        raise PinEditError(
            "the pin file is read-only: refusing to replace it; make it writable "
            "(e.g. chmod u+w) if it should be bumped",
            file=file,
            key=key,
        )


def undo_interrupted_edit(
    deploy: GitRepo,
    branch: str,
    git_path: str,
    pin_path: Path,
    pin: PinSpec,
    target: Any,
) -> bool:
    """If the work tree holds exactly the edit a killed run of this bump made on ``branch``
    (the committed pin with its version set to ``target.version``), restore the committed
    bytes and return True; otherwise change nothing and return False."""
    try:
        if deploy.run("symbolic-ref", "--quiet", "--short", "HEAD") != branch:
            return False
        committed = deploy.run_bytes("show", f"HEAD:{git_path}")
        planned, _ = replace_pin(
            committed, pin.key, target.version, file=git_path, segments=pin.segments
        )
        on_disk = pin_path.read_bytes()
    except (OSError, DeployGuideError):  # not our edit (or unreadable): leave it alone
        return False
    if on_disk != planned or planned == committed:
        return False
    atomic_write_bytes(pin_path, committed)
    return True
