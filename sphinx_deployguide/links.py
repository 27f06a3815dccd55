"""Web pages for git sources: the commit page, the pull request, the workflow.

Pure functions over URLs, so pages, PR bodies and messages link the same way. Links are
built from the owner and repository name only, never from the configured URL itself, so
credentials in a source URL (``https://user:token@...``) can never reach a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_GITHUB = re.compile(
    r"^(?:https?://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)
#: ``Merge pull request #N from owner/branch``: GitHub's merge commit subject.
MERGE_PR = re.compile(r"^Merge pull request #(?P<n>\d+)(?: from (?P<branch>\S+))?")
#: ``Subject (#N)``: GitHub's squash-merge subject.
SQUASH_PR = re.compile(r"\(#(?P<n>\d+)\)\s*$")
_SHA = re.compile(r"^[0-9a-f]{4,40}$")
#: ``#N`` standing alone (not ``owner/repo#N``, not an entity ``&#N;``): GitHub links it to
#: an issue of whatever repository shows the text.
BARE_REF = re.compile(r"(?<![\w/&.-])#(?P<n>\d+)\b")


def github_repo(source: str) -> tuple[str, str] | None:
    """(owner, repo) when ``source`` is a GitHub URL (https, ssh or scp-like), else None."""
    match = _GITHUB.match(source.strip())
    return (match.group("owner"), match.group("repo")) if match else None


def qualify_refs(text: str, owner_repo: tuple[str, str] | None) -> str:
    """``text`` (a commit subject of the chart source) with each bare ``#N`` written
    ``owner/repo#N`` when the source is on GitHub: shown in the deploy repo, ``#N`` alone
    would name the deploy repo's own issue N."""
    if owner_repo is None:
        return text
    owner, repo = owner_repo
    return BARE_REF.sub(lambda m: f"{owner}/{repo}#{m.group('n')}", text)


@dataclass(frozen=True)
class SourceLinks:
    """Pages of one GitHub repository (``https://github.com/OWNER/REPO``)."""

    owner: str
    repo: str

    @property
    def home(self) -> str:
        return f"https://github.com/{self.owner}/{self.repo}"

    def commit(self, sha: str) -> str | None:
        """The commit page; None for anything that is not a hex SHA (never a made-up link)."""
        return f"{self.home}/commit/{sha}" if _SHA.match(sha) else None

    def pull(self, number: int) -> str:
        return f"{self.home}/pull/{number}"

    def workflow(self, path: str) -> str:
        """The Actions page of a workflow file (``.github/workflows/cd.yml``)."""
        return f"{self.home}/actions/workflows/{PurePosixPath(path).name}"

    def file(self, path: str, ref: str = "HEAD") -> str:
        return f"{self.home}/blob/{ref}/{PurePosixPath(path).as_posix()}"


def source_links(*urls: str | None) -> SourceLinks | None:
    """The GitHub pages of the first GitHub URL among ``urls`` (a source, its origin)."""
    for url in urls:
        found = github_repo(url) if url else None
        if found:
            return SourceLinks(*found)
    return None
