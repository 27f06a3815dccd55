"""The text of a bump: its commit message and PR body, and the chart commits they list.

Both are written from one :class:`BumpEvidence` (what git and the index said), never from a
value a person typed. Upstream text (commit subjects, PR titles) is escaped for where it
goes and its issue references are qualified or made inert, so a pasted body links to the
right repository and a merged commit closes no upstream issue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..charthistory import chart_commits_between, landing_commit
from ..chartindex import IndexEntry
from ..chartversion import ChartVersion
from ..config import PinSpec
from ..delay import format_duration, iso_utc
from ..errors import GitError
from ..escape import inert_references, markdown_code, markdown_text, terminal_text
from ..facts import ChartState
from ..git import GitRepo
from ..links import MERGE_PR, SQUASH_PR, github_repo, qualify_refs
from ..redact import redact_url
from .plan import Pin, Target

#: How many chart commits a message lists before saying "and N more".
MAX_LISTED = 50

#: (short SHA, subject) of a chart commit.
Commit = tuple[str, str]


@dataclass(frozen=True)
class BumpEvidence:
    """Everything the commit message and the PR body say, as git and the index said it."""

    chart: str  # the chart's name in the model (the command's CHART)
    branch: str  # the chart source's branch
    pin_spec: PinSpec  # where the deploy repo pins the chart
    pin: Pin
    target: Target
    commits: list[Commit]  # the chart commits this bump brings, oldest first
    pending: list[Commit]  # newer chart commits on the branch that it leaves out
    published: IndexEntry | None  # None: pinned with --allow-unpublished
    index_source: str
    compare_url: str | None
    landed: datetime | None  # when the target's chart commit landed on the branch
    current: ChartVersion  # the chart at the head of the branch
    #: a downgrade: the chart commits between the target and the pin that it takes away
    rolled_back: list[Commit] = field(default_factory=list)


@dataclass(frozen=True)
class ChecklistSection:
    """What the PR body shows under "Deploy checklist": the rendered checklist (a GitHub
    task list), or why there is none."""

    markdown: str | None = None
    env: str | None = None
    error: str | None = None
    skipped: bool = False  # left out on request (--no-checklist)


def compare_url(source: str, old: str, new: str) -> str | None:
    """The GitHub compare page, built from owner/repo only (never the credentials of ``source``)."""
    gh = github_repo(source)
    if gh is None:
        return None
    return f"https://github.com/{gh[0]}/{gh[1]}/compare/{old}...{new}"


def describe_commit(
    subject: str, gh: tuple[str, str] | None, body: str = "", via: str | None = None
) -> str:
    """A commit subject with its PR number made explicit (``owner/repo#N`` on GitHub).

    ``#N`` alone would link to the deploy repo's own PR N once pasted there, so every
    reference of a GitHub source is qualified (:func:`~..links.qualify_refs`; elsewhere the
    outputs break it, :func:`~..escape.inert_references`). A merge of a PR shows the PR title
    (the merge body's first line); ``via`` is the subject of the merge that landed a commit
    (``Merge pull request #N``).
    """
    merge = MERGE_PR.match(subject)
    if merge:
        title = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
        branch = f" from {merge.group('branch')}" if merge.group("branch") else ""
        subject = f"#{merge.group('n')} {title}".rstrip() + f" (merge{branch})"
    elif (landed := MERGE_PR.match(via or "")) and not SQUASH_PR.search(subject):
        subject = f"{subject} (#{landed.group('n')})"
    return qualify_refs(subject, gh)


def annotate_commits(
    repo: GitRepo, branch: str, gh: tuple[str, str] | None, commits: list[Commit]
) -> list[Commit]:
    """Subjects with the PR that brought each commit onto ``branch`` (from its merge's subject)."""
    out = []
    for i, (sha, subject) in enumerate(commits):
        body = via = ""
        if i < MAX_LISTED:
            try:
                if MERGE_PR.match(subject):
                    body = repo.run("log", "-1", "--no-show-signature", "--format=%b", sha, "--")
                else:
                    landing = landing_commit(repo, sha, branch)
                    if not landing.startswith(sha):
                        via = repo.run(
                            "log", "-1", "--no-show-signature", "--format=%s", landing, "--"
                        )
            except GitError:
                pass  # not on the branch (e.g. --to from another branch): no PR to name
        out.append((sha, describe_commit(subject, gh, body, via)))
    return out


def gather_evidence(
    chart: str,
    state: ChartState,
    pin_spec: PinSpec,
    pin: Pin,
    target: Target,
    published: IndexEntry | None,
    index_source: str,
    landed: datetime | None,
) -> BumpEvidence:
    """The chart commits between the pin and the target (all of the target's history when
    the pin's order is unknown), those a downgrade takes away (between the target and the
    pin's chart commit), and those still pending after it, from the chart source."""
    repo, spec, current = state.repo, state.spec, state.current
    gh = (state.links.owner, state.links.repo) if state.links else None  # a checkout's origin too
    since = pin.full if pin.chart_full is not None else None
    commits = chart_commits_between(repo, since, target.full, target.paths)
    rolled_back: list[Commit] = []
    back_to = pin.chart_full
    if back_to is not None and back_to != target.full and repo.is_ancestor(target.full, back_to):
        rolled_back = chart_commits_between(repo, target.full, back_to, target.paths)
    pending: list[Commit] = []
    if current.commit_full != target.full and repo.is_ancestor(target.full, current.commit_full):
        newer = chart_commits_between(repo, target.full, current.commit_full, current.paths)
        pending = annotate_commits(repo, spec.branch, gh, newer)
    return BumpEvidence(
        chart=chart,
        branch=spec.branch,
        pin_spec=pin_spec,
        pin=pin,
        target=target,
        commits=annotate_commits(repo, spec.branch, gh, commits),
        pending=pending,
        published=published,
        index_source=index_source,
        compare_url=compare_url(spec.source, pin.short, target.short) if pin.short else None,
        landed=landed,
        current=current,
        rolled_back=annotate_commits(repo, spec.branch, gh, rolled_back),
    )


def _listed(commits: list[Commit], render: Callable[[str, str], str]) -> list[str]:
    lines = [render(sha, subject) for sha, subject in commits[:MAX_LISTED]]
    if len(commits) > MAX_LISTED:
        lines.append(f"... and {len(commits) - MAX_LISTED} more")
    return lines


def commit_message(ev: BumpEvidence) -> str:
    """The generated commit message (title ``CHART: OLD...NEW``, then the evidence).

    URLs are redacted here too (not only by the callers): a message is pushed and public.
    """
    pin, target = ev.pin, ev.target
    index_source = redact_url(ev.index_source)
    url = redact_url(ev.compare_url) if ev.compare_url else ev.compare_url
    old_short = pin.short or pin.version
    lines = [f"{ev.chart}: {old_short}...{target.short}", ""]
    lines.append(f"Bump {ev.chart} from {pin.version} to {target.version}")
    lines.append(f"in {ev.pin_spec.file} ({ev.pin_spec.key}).")
    lines.append("")
    if url:
        lines += [f"Compare: {url}", ""]
    rng = f"{pin.short}..{target.short}" if pin.short else target.short
    lines.append(f"Chart commits (git log --oneline {rng} -- {' '.join(target.paths)}):")
    # a merged commit message closes the issues its text names: never an upstream one's
    lines += _listed(ev.commits, lambda sha, subject: f"{sha} {inert_references(subject)}") or [
        "(none)"
    ]
    lines.append("")
    if ev.rolled_back:
        back = f"{target.short}..{pin.short}"
        lines.append(
            f"Chart commits rolled back (git log --oneline {back} -- {' '.join(target.paths)}):"
        )
        lines += _listed(ev.rolled_back, lambda sha, subject: f"{sha} {inert_references(subject)}")
        lines.append("")
    if ev.published is not None:
        delay = ""
        if ev.landed is not None:
            after = format_duration((ev.published.created - ev.landed).total_seconds())
            delay = f", {after} after its chart commit landed on {ev.branch}"
        lines.append(f"Published: {iso_utc(ev.published.created)} in {index_source}{delay}")
    else:
        lines.append(f"Published: not yet in {index_source} (pinned with --allow-unpublished)")
    lines += ["", f"Generated by `deployguide bump {ev.chart}` from git and the chart index."]
    return terminal_text("\n".join(lines)) + "\n"  # upstream subjects: no control sequences


def pr_body(ev: BumpEvidence, checklist: ChecklistSection) -> str:
    """The PR body: what changed, what is still pending, and the staging checklist."""
    pin, target = ev.pin, ev.target
    index_source = redact_url(ev.index_source)
    url = redact_url(ev.compare_url) if ev.compare_url else ev.compare_url
    out = [f"## Bump `{ev.chart}` to `{target.version}`", ""]
    out.append("| | |")
    out.append("|---|---|")
    out.append(f"| pin | {markdown_code(ev.pin_spec.file)} {markdown_code(ev.pin_spec.key)} |")
    old_commit = f" (commit `{pin.short}`)" if pin.short else ""
    out.append(f"| from | {markdown_code(pin.version)}{old_commit} |")
    out.append(f"| to | `{target.version}` (chart commit `{target.short}`) |")
    if ev.published is not None:
        published = iso_utc(ev.published.created)
        out.append(f"| published | {published} in {markdown_text(index_source)} |")
    else:
        out.append(f"| published | **not yet** in {markdown_text(index_source)} |")
    if url:
        out.append(f"| compare | {url} |")
    out.append("")
    if pin.chart_full and pin.full and pin.chart_full != pin.full and pin.chart_version:
        out.append(
            f"> [!WARNING]\n> The old pin names commit `{pin.short}`, which is not a chart "
            f"commit: version `{pin.version}` was never published (the chart at that "
            f"commit is `{pin.chart_version}`)."
        )
        out.append("")
    out.append(f"### Chart commits in this bump ({len(ev.commits)})")
    out += _listed(ev.commits, lambda sha, subject: f"- `{sha}` {markdown_text(subject)}") or [
        "- none"
    ]
    out.append("")
    if ev.rolled_back:
        out.append(f"### Chart commits rolled back by this bump ({len(ev.rolled_back)})")
        out += _listed(ev.rolled_back, lambda sha, subject: f"- `{sha}` {markdown_text(subject)}")
        out.append("")
    out.append("### Still pending after this bump")
    if ev.pending:
        out.append(f"Newer chart commits on `{ev.branch}` up to `{ev.current.version}`:")
        out += _listed(ev.pending, lambda sha, subject: f"- `{sha}` {markdown_text(subject)}")
    else:
        out.append(f"None: `{target.version}` is the newest chart on `{ev.branch}`.")
    out.append("")
    env = checklist.env
    out.append(f"### Deploy checklist: {env}" if env else "### Deploy checklist")
    if checklist.markdown:
        out.append(checklist.markdown.rstrip())
    elif checklist.skipped:
        out.append("_Left out on request (`--no-checklist`)._")
    else:
        error = markdown_text(checklist.error or "unknown")
        out.append(f"**The checklist could not be included:** {error}")
    out += [
        "",
        f"<sub>Generated by <code>deployguide bump {ev.chart}</code> from git and the chart "
        "index: no value in this PR was typed by a person.</sub>",
    ]
    return "\n".join(out) + "\n"
