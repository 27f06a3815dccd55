"""Opening a chart source: a local repository, or a remote URL mirrored in the cache.

A chart source is either a local repository (work tree or bare), never changed, or a remote
URL that we mirror as a blobless bare clone in the cache directory, fetched again when its
cache is older than a TTL. Here are the rules for both (what counts as a URL, where a
mirror lives, when it is fetched, what a failed fetch serves), so that the repository
itself (:class:`~sphinx_deployguide.git.GitRepo`) only answers questions.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

from .errors import GitError
from .factcache import Answers, answers_path
from .git import STAMP_NAME, GitRepo
from .gitrun import NETWORK_TIMEOUT, spawn
from .redact import redact_url

__all__ = ["is_remote_url", "mirror_slug", "open_source"]

_URL_RE = re.compile(r"^(?:https?|git|ssh|file)://", re.IGNORECASE)
_SCP_RE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9._-]+:(?!//)")

_SHALLOW_HINT = (
    "it is a shallow clone, but chart versions need the full history "
    "(run `git fetch --unshallow` in it, or use `fetch-depth: 0` with actions/checkout)"
)


def is_remote_url(source: str) -> bool:
    """True for https://, http://, git://, ssh://, file:// URLs and scp-like ``git@host:path``."""
    return bool(_URL_RE.match(source) or _SCP_RE.match(source))


def mirror_slug(url: str) -> str:
    """A readable, collision-free directory name for a mirror of ``url``, derived from the
    redacted URL: no credential ever names a folder (and a new token keeps the mirror)."""
    url = redact_url(url)
    readable = re.sub(r"(?i)^[a-z][a-z0-9+.-]*://", "", url)
    readable = re.sub(r"^[^/]*@", "", readable)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.")[:80] or "repo"
    import hashlib  # here: a local source has no mirror

    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}"


def open_source(
    source: str,
    *,
    base_dir: Path,
    cache_dir: Path,
    ttl: int,
    refresh: bool = False,
    on_fetch_error: str = "error",
    network_timeout: float = NETWORK_TIMEOUT,
) -> GitRepo:
    """Open a chart source: a local repository, or a remote URL mirrored in ``cache_dir``.

    * Local path (relative to ``base_dir``): must be the top of a work tree or a bare
      repository.
    * Remote URL: a blobless bare clone under ``cache_dir/"git"/<slug>``, fetched again
      when its stamp is older than ``ttl`` seconds or with ``refresh``. If that fetch
      fails, ``on_fetch_error="stale"`` returns the existing mirror with ``repo.stale``
      set to the reason; the default ``"error"`` raises. A clone or fetch (and a lazy
      fetch of a missing object later) that takes longer than ``network_timeout`` seconds
      is stopped: a GitError saying so.

    A shallow repository is refused: chartpress counts every ancestor. git's answers about
    the repository are kept in ``cache_dir`` under its state (:mod:`.factcache`; with
    ``refresh`` none is read back).
    """
    if on_fetch_error not in ("error", "stale"):
        raise ValueError(f"on_fetch_error must be 'error' or 'stale', not {on_fetch_error!r}")
    if is_remote_url(source):
        repo = _open_mirror(source, Path(cache_dir), ttl, refresh, on_fetch_error, network_timeout)
    else:
        repo = _open_local(source, Path(base_dir))
        repo.network_timeout = network_timeout  # a user's own blobless clone fetches too
    if repo.shallow:
        raise GitError(f"chart source {repo.source}: {_SHALLOW_HINT}")
    assert repo.git_dir is not None  # probed
    repo.answers = Answers(answers_path(cache_dir, repo.git_dir), repo.state(), read=not refresh)
    return repo


def _open_local(source: str, base_dir: Path) -> GitRepo:
    path = Path(source).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise GitError(f"chart source {source!r} not found: {path} does not exist")
    if not path.is_dir():
        raise GitError(
            f"chart source {source!r}: {path} is not a directory (expected a git repository)"
        )
    repo = GitRepo(path, source=source)
    probe = repo.probe()
    if probe.returncode != 0:
        raise GitError(
            f"chart source {source!r}: {path} is not a git repository\n"
            + probe.stderr.decode("utf-8", "replace").strip()
        )
    assert repo.git_dir is not None
    if repo.cdup == "":  # the top of a work tree
        return repo
    if repo.bare:
        top = repo.git_dir
    elif repo.cdup is not None:  # "../" below the top
        top = (path / repo.cdup).resolve()
    else:  # inside a .git directory: no work tree (git says so)
        top = Path(repo.run("rev-parse", "--show-toplevel"))
    if top.resolve() != path.resolve():
        raise GitError(
            f"chart source {source!r}: {path} is inside the git repository {top}, not its top "
            "level; point `source` at the repository itself (chartpress paths are resolved "
            "from its root)"
        )
    return repo


def _open_mirror(
    url: str, cache_dir: Path, ttl: int, refresh: bool, on_fetch_error: str, timeout: float
) -> GitRepo:
    root = cache_dir / "git"
    mirror = root / mirror_slug(url)
    stamp = mirror / STAMP_NAME
    if not mirror.exists():
        _clone_mirror(url, root, mirror, timeout)
        repo = GitRepo(mirror, source=url)
        repo.mirror_of, repo.network_timeout = url, timeout
    else:
        repo = GitRepo(mirror, source=url)
        repo.mirror_of, repo.network_timeout = url, timeout
        if not (mirror / "HEAD").is_file() or repo.probe().returncode != 0 or not repo.bare:
            raise GitError(
                f"cache directory {mirror} (mirror of {redact_url(url)}) is not a bare git "
                "repository; delete it so it is cloned again"
            )
        try:
            age = time.time() - stamp.stat().st_mtime
        except FileNotFoundError:
            age = float("inf")
        if refresh or age < 0 or age >= ttl:
            try:
                repo.update_mirror()
            except GitError as exc:
                if on_fetch_error != "stale":
                    raise
                repo.stale = str(exc)
    if stamp.exists():
        repo.fetched_at = datetime.fromtimestamp(stamp.stat().st_mtime, tz=timezone.utc)
    if repo.probe().returncode != 0:  # what the clone or fetch left
        raise GitError(f"cache directory {mirror} (mirror of {redact_url(url)}) is unreadable")
    return repo


def _clone_mirror(url: str, root: Path, mirror: Path, timeout: float) -> None:
    """Clone into a temporary sibling, then rename: a failed clone leaves nothing behind."""
    import shutil
    import tempfile

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=root))
    failed = f"cannot mirror chart source {redact_url(url)}"
    try:
        target = tmp / "repo.git"
        args = ["clone", "--bare", "--quiet", "--filter=blob:none", "--", url, str(target)]
        proc = spawn(
            ["git", "-C", str(root), *args], timeout, None, waiting_for=f"{failed}: git clone"
        )
        if proc.returncode != 0:
            raise GitError(f"{failed}: {GitRepo(root)._fail(args, proc)}")
        GitRepo(target).write_commit_graph()
        (target / STAMP_NAME).touch()
        try:
            os.rename(target, mirror)
        except OSError:
            if not mirror.exists():  # lost a race with another process: use its clone
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
