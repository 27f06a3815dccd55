"""What a resolution's facts were computed from, so that a rebuild can tell they are the
same without computing them again.

A no-op rebuild of a runbook used to resolve every fact again: import the git, index and
verdict code, ask the fact cache, judge the verdicts; about as long as the rest of
Sphinx's no-op. After a resolution, :func:`record_inputs` writes down everything the
facts depend on, and :func:`inputs_unchanged` checks it all again on the next build:

* the model file and every file of the deploy repo it names (pin, values, workflows),
  by content;
* each chart source's state (:func:`~.factcache.source_state`: every ref, the object
  store, the git config files and git itself), with its ref files standing for git's
  listing of its refs (:func:`~.factcache.ref_files`), so no git process runs;
* each chart index: the file its entries were read from (a local index, or the cached
  copy of a URL's), like the files above (:func:`file_signature`);
* the moment the facts stop holding as time passes: a URL index's and a mirror's TTL
  (after it they are fetched again), and the first moment a verdict would read otherwise
  (a pending chart turning overdue, an age reaching its next minute or day:
  :func:`~.verdict.steady_until`);
* the extension's own code, the build's options and the environment variables that
  choose the cache.

Nothing is recorded when the next resolution could say something else with all of that
unchanged: facts served stale (the network failed; the next build tries again), problems
or warnings the resolution reported (they are said again by resolving), a verdict whose
archive did not answer (the next probe may), a mirror that wants a fetch for a version
it lacks, ``refresh``. Any doubt is a resolution: a recording that cannot be read, or
that names another format, code or option, counts as changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .config import Model
    from .facts import FactSet
    from .git import GitRepo

__all__ = ["code_signature", "file_signature", "inputs_unchanged", "record_inputs"]

#: Bump when what a recording holds changes shape or meaning.
FORMAT = 1

#: Files up to this size are compared by content, larger ones (a local copy of a 1.7 MB
#: index) by inode, size and modification and change times.
HASHED_SIZE = 1 << 20

_PACKAGE = Path(__file__).parent


def file_signature(path: Path) -> list[Any] | None:
    """What changes when ``path`` changes: inode, size, modification and change times
    (the change time cannot be set back), and a regular file's digest when it is small
    (two writes within one tick of the file system's clock). None: missing or unreadable.
    A folder's times change when an entry is added, removed or renamed."""
    try:
        st = os.stat(path)
        digest = None
        if stat.S_ISREG(st.st_mode) and st.st_size <= HASHED_SIZE:
            digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None
    return [st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest]


def code_signature() -> list[Any]:
    """The extension's own code: its version, and when any of its modules last changed
    (an edited checkout computes facts another way under the same version)."""
    newest = 0
    for folder, _dirs, files in os.walk(_PACKAGE):
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    return [FORMAT, __version__, newest]


def _context(options: dict[str, Any]) -> Any:
    """The build's options and the environment variables that choose where caches are (as
    read back from JSON)."""
    env = {k: os.environ.get(k) for k in ("HOME", "XDG_CACHE_HOME")}
    return json.loads(json.dumps([code_signature(), sorted(options.items()), sorted(env.items())]))


def record_inputs(facts: FactSet, options: dict[str, Any]) -> dict[str, Any] | None:
    """What ``facts`` (just resolved) depend on, as JSON; None when the next resolution
    could differ with all of it unchanged (see the module docstring).

    ``options``: the build's own settings that change the facts (the offline policy),
    compared as they are."""
    from datetime import datetime, timezone

    from .verdict import steady_until

    model = facts.model
    if facts.stale or facts.problems:
        return None
    files = {str(model.path): file_signature(model.path)}
    for name in model.named_files():
        path = model.deploy_repo / name
        files[str(path)] = file_signature(path)
    sources: dict[str, dict[str, str]] = {}
    resolved_at = time.time()
    until = resolved_at + 366 * 86400  # a bound for the bisection of the verdicts' moment
    for chart in facts.charts.values():
        repo, index = chart.repo, chart.index
        if repo.wants_fetch:
            return None  # a mirror lacking a version: every resolution fetches it again
        source = _ref_files_state(repo)
        if source is None:
            return None  # a ref moved while the facts were resolved
        sources[str(repo.path)] = source
        if repo.is_mirror() and repo.fetched_at is not None:
            until = min(until, repo.fetched_at.timestamp() + model.cache_ttl)
        read_from, expires = _index_file(model, chart.spec.index, index.source)
        files[str(read_from)] = file_signature(read_from)
        if expires:
            until = min(until, index.fetched_at.timestamp() + model.cache_ttl)
    for chart in facts.charts.values():
        for verdict in (chart.head_verdict, chart.pin_verdict):
            if verdict is None:
                continue
            if verdict.evidence is None or verdict.evidence.archive_problem:
                return None
            limit = datetime.fromtimestamp(until, tz=timezone.utc)
            until = min(until, steady_until(verdict.evidence, limit).timestamp())
    if until <= resolved_at:
        return None
    return {
        "context": _context(options),
        "deploy_repo": str(model.deploy_repo),
        "files": files,
        "sources": sources,
        "valid_until": until,
    }


def _ref_files_state(repo: GitRepo) -> dict[str, str] | None:
    """The source's state with its ref files (:func:`~.factcache.ref_files`) for git's
    listing of its refs: checked without a git process. The files are read first, then
    git is asked again whether the refs are still the ones the facts were resolved from
    (None if not): the files can only show that state, or a later one."""
    from .factcache import ref_files, source_state
    from .git import GitRepo

    common, git_dir = repo.common_dir(), repo.git_dir
    assert git_dir is not None  # opened with a probe
    state = _digest(source_state(common, git_dir, ref_files(common, git_dir)))
    again = GitRepo(repo.path)
    if again.probe().returncode != 0 or again.state() != repo.state():
        return None
    return {"common_dir": str(common), "git_dir": str(git_dir), "state": state}


def _digest(state: str) -> str:
    """A source state as kept in the record: hashed, since it holds the ``GIT_*`` variables
    (one may carry a credential) and the record lies beside the doctrees, which may be
    inside the HTML output."""
    return hashlib.sha256(state.encode("utf-8", "surrogateescape")).hexdigest()


def _index_file(model: Model, configured: str, source: str) -> tuple[Path, bool]:
    """(the file an index's entries were read from, whether it expires with the TTL)."""
    from .indexcache import cache_path, local_index_path

    local = local_index_path(configured, model.base_dir)
    if local is not None:
        return local, False
    return cache_path(model.cache_dir, source), True


def inputs_unchanged(recorded: Any, options: dict[str, Any]) -> bool:
    """Whether everything ``recorded`` (by :func:`record_inputs`, read back from JSON) is
    as it was, and its moment has not passed. Runs no git process."""
    from .factcache import ref_files, source_state

    try:
        if time.time() >= recorded["valid_until"]:
            return False
        if _context(options) != recorded["context"]:
            return False
        for path, signature in recorded["files"].items():
            if file_signature(Path(path)) != signature:
                return False
        for source in recorded["sources"].values():
            common, git_dir = Path(source["common_dir"]), Path(source["git_dir"])
            if (
                _digest(source_state(common, git_dir, ref_files(common, git_dir)))
                != source["state"]
            ):
                return False
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True
