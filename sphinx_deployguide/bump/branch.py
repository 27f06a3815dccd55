"""The pin file and the deploy repo's git: where the pin is read from (the work tree, or
a bump branch made earlier), and how the edit is written and committed on a branch.

Nothing is lost: a pin file with uncommitted changes is refused (twice: before and after
a wait), the edit is planned from the bytes on disk just before it is written, and a
failure puts back the old bytes and the old branch. Nothing is pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import Model, PinSpec
from ..errors import DeployGuideError, GitError
from ..files import not_a_file
from ..git import GitRepo
from ..pinedit import apply_pin_edit, atomic_write_bytes, replace_pin
from ..pinsafety import check_writable, real_pin, undo_interrupted_edit
from .plan import BumpRefused, BumpRequest, Target, plan_from_disk


def pin_is_dirty(deploy: GitRepo, relative: str) -> str:
    """``git status --porcelain`` of the pin file ('' when clean)."""
    return deploy.run("status", "--porcelain", "--untracked-files=all", "--", relative)


def branch_exists(deploy: GitRepo, branch: str) -> bool:
    return deploy.resolve(f"refs/heads/{branch}") is not None


def current_branch(deploy: GitRepo) -> str | None:
    try:
        return deploy.run("symbolic-ref", "--quiet", "--short", "HEAD") or None
    except GitError:
        return None


def check_branch_name(deploy: GitRepo, branch: str) -> None:
    try:
        deploy.run("check-ref-format", "--branch", branch)
    except GitError as exc:
        raise DeployGuideError(f"{branch!r} is not a valid branch name", key="--branch") from exc


def commit_pin(deploy: GitRepo, relative: str, message: str) -> str:
    """Commit only the pin file (other staged changes stay staged); returns the full SHA.

    The message goes through stdin: no temporary file is left behind if the bump is killed.
    """
    deploy.run("commit", "--cleanup=whitespace", "--file=-", "--", relative, input=message.encode())
    return deploy.run("rev-parse", "HEAD")


def switch_to(deploy: GitRepo, branch: str) -> Callable[[], None]:
    """Switch to ``branch`` (created from HEAD if new); returns how to undo that."""
    if current_branch(deploy) == branch:
        return lambda: None
    before = current_branch(deploy)
    head = deploy.resolve("HEAD")
    created = not branch_exists(deploy, branch)
    deploy.run("switch", "--quiet", *(["--create"] if created else []), branch)

    def undo() -> None:
        if before is not None:
            deploy.run("switch", "--quiet", before)
        elif head is not None:
            deploy.run("switch", "--quiet", "--detach", head)
        if created and deploy.resolve(f"refs/heads/{branch}") == head:
            deploy.run("branch", "--quiet", "-D", branch)

    return undo


@dataclass(frozen=True)
class PinFile:
    """The pin file a bump edits, and the text it starts from."""

    spec: PinSpec
    path: Path  # on disk, symlinks resolved
    deploy: GitRepo | None  # the deploy repo, with --commit
    git_path: str  # the path as git names it (the symlink's target)
    branch: str  # the branch to commit on (with --commit)
    on_branch: bool  # the text was read from that branch, which exists and is not checked out
    text: str  # the pin file's text before the bump

    @property
    def display(self) -> str:
        """The file as the model names it (what messages say)."""
        return self.spec.file

    @property
    def where(self) -> str:
        return f" (on branch {self.branch})" if self.on_branch else ""


def open_pin_file(
    model: Model, pin_spec: PinSpec, req: BumpRequest, target: Target, say: Callable[[str], None]
) -> PinFile:
    """The pin file and its text: from the work tree, or (``--commit`` to a bump branch that
    exists and is not checked out) from that branch. With ``--commit``, a pin file with
    uncommitted changes is refused, unless they are exactly the edit of an interrupted run
    of this bump (which is undone, and the bump resumes)."""
    path = (model.deploy_repo / pin_spec.file).resolve()
    display = pin_spec.file
    deploy = GitRepo(model.deploy_repo) if req.commit else None
    branch = req.branch or f"bump/{req.chart}-{target.short}"
    on_branch = False
    git_path = real_pin(deploy, path) if deploy is not None else pin_spec.file
    if deploy is not None:
        check_branch_name(deploy, branch)
        dirty = pin_is_dirty(deploy, git_path)
        if dirty and undo_interrupted_edit(deploy, branch, git_path, path, pin_spec, target):
            say(f"resuming an interrupted bump of {display} on {branch}")
            dirty = pin_is_dirty(deploy, git_path)
        if dirty:
            raise BumpRefused(
                f"refusing to commit: {display} has uncommitted changes "
                f"({dirty.strip()}); commit or discard them first",
                file=display,
                reason="dirty",
            )
        on_branch = branch_exists(deploy, branch) and current_branch(deploy) != branch
    if deploy is not None and on_branch:
        blob = deploy.show(f"refs/heads/{branch}", git_path)
        if blob is None:
            raise DeployGuideError(f"branch {branch} has no {display}", file=display)
        text = blob
    else:
        kind = not_a_file(path)
        if kind is not None:
            raise DeployGuideError(f"the pin file is {kind}, expected a file", file=display)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeployGuideError(f"cannot read the pin file: {exc}", file=display) from exc
    return PinFile(pin_spec, path, deploy, git_path, branch, on_branch, text)


def check_editable(pin_file: PinFile, new: str, *, dry_run: bool) -> None:
    """Plan the edit before any wait: a pin file that cannot be edited fails now, not in
    30 minutes (a read-only one only matters when something is written)."""
    spec = pin_file.spec
    replace_pin(
        pin_file.text.encode("utf-8"), spec.key, new, file=pin_file.display, segments=spec.segments
    )
    if not dry_run:
        check_writable(pin_file.path, file=pin_file.display, key=spec.key)


@dataclass(frozen=True)
class Written:
    """What writing the pin did: ``bumped`` (the file), or ``committed`` on ``branch``."""

    status: str
    branch: str | None
    commit: str | None


def write_pin(pin_file: PinFile, new: str, expected_old: str, message: str) -> Written:
    """Write the new version into the pin file (and commit it on the branch with
    ``--commit``); on any failure, the pin file's old bytes and the old branch come back."""
    deploy, display = pin_file.deploy, pin_file.display
    if deploy is not None:
        # the wait may have been long: check again before touching anything
        dirty = pin_is_dirty(deploy, pin_file.git_path)
        if dirty:
            raise BumpRefused(
                f"refusing to commit: {display} changed while waiting ({dirty.strip()})",
                file=display,
                reason="dirty",
            )
        undo = switch_to(deploy, pin_file.branch)
    else:
        undo = lambda: None  # noqa: E731
    edit = None
    try:
        edit = plan_from_disk(pin_file.path, pin_file.spec, new, display, expected_old)
        apply_pin_edit(pin_file.path, edit)
        if deploy is None:
            return Written("bumped", None, None)
        commit = commit_pin(deploy, pin_file.git_path, message)
        return Written("committed", pin_file.branch, commit)
    except BaseException:
        # leave things as they were: the pin file's old bytes, the old branch
        if deploy is not None and edit is not None and pin_file.path.read_bytes() != edit.before:
            atomic_write_bytes(pin_file.path, edit.before)
        undo()
        raise
