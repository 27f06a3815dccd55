"""The drift checks inside a Sphinx build: ``sphinx-build -W`` fails when the runbook drifts.

While reading, each document records what it claims (``deploy-claim`` directives; the
claim roles are recorded by :mod:`.values`) and which tokens look like typed chart versions
or commits. Once per build, after all (possibly parallel) readers have been merged
(``env-updated``, main process only, so ``-j`` gives no duplicates), the pure checks of
:mod:`sphinx_deployguide.drift` run over those records and the facts, and every finding
becomes a located ``deployguide.<subtype>`` warning whose message ends with the fix
(:func:`.warnings.report`, which also keeps it for the lint builder).

Severities: ``error`` findings are logged as errors, ``warning`` as warnings (both fail
``-W``), ``info`` findings (a published pin that is behind) as plain info lines.

New markup:

* ``deploy-claim`` directive: ``:file:`` plus ``:contains:`` (literal) or ``:matches:``
  (regular expression, multiline); its body is the prose the claim backs, rendered as usual.
* ``deploy-historical`` role: an inline literal that is deliberately a past version or
  commit (e.g. in an incident write-up); the ``hardcoded`` check skips it. Whole pages are
  exempted with ``deployguide_historical`` (docname globs) in ``conf.py``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective, SphinxRole
from sphinx.util.matching import Matcher

from ..drift import HISTORICAL_ROLE
from . import guard
from .lastbuild import CHECKS_FILE, checks_key, read_record, write_record
from .state import Claim, TextClaim, get_state
from .warnings import report

if TYPE_CHECKING:
    from docutils.nodes import Node, system_message
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..config import Model
    from ..drift import Finding
    from ..facts import FactSet
    from ..workflow import JobMatrix, WorkflowError


# --- markup ----------------------------------------------------------------------------------


class DeployClaim(SphinxDirective):
    """``deploy-claim``: prose backed by a file pattern in the deploy repo."""

    has_content = True
    option_spec = {
        "file": directives.unchanged_required,
        "contains": directives.unchanged_required,
        "matches": directives.unchanged_required,
    }

    def run(self) -> list[Node]:
        container = nodes.container(classes=["deployguide-claim"])
        self.set_source_info(container)
        if self.content:
            container.extend(self.parse_content_to_nodes())
        source, line = self.get_source_info()
        # Recorded even when malformed: the check reports it once per build, located.
        get_state(self.env).add_text_claim(
            TextClaim(
                self.options.get("file", "").strip(),
                self.options.get("contains"),
                self.options.get("matches"),
                self.env.docname,
                source,
                line,
            )
        )
        return [container]


class DeployHistorical(SphinxRole):
    """``deploy-historical``: a deliberately historical version or commit, shown as a literal."""

    def run(self) -> tuple[list[Node], list[system_message]]:
        return [nodes.literal(self.rawtext, self.text, classes=["deployguide-historical"])], []


def _doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    from .drift_scan import scan_doctree  # here: a build that reads nothing scans nothing

    env = app.env
    get_state(env).set_spots(
        env.docname, scan_doctree(env.docname, str(env.doc2path(env.docname)), doctree)
    )


# --- running the checks once per build ---------------------------------------------------------


def run_checks(env: BuildEnvironment, facts: FactSet) -> list[Finding]:
    """All drift findings of the build, from the merged records and the facts.

    Every build runs them (the deploy repo and the chart source may have moved while no
    page did); the claim and hardcoded checks are imported when there is something for
    them to check.
    """
    # here: registering the extension needs none of the checks
    from ..config import toml_key_line
    from ..drift.coverage import ChecklistRef, check_coverage
    from ..drift.pins import check_pin, pin_location

    model = facts.model
    repo = model.deploy_repo
    model_lines = model.path.read_text(encoding="utf-8").splitlines()
    findings: list[Finding] = []
    state = get_state(env)
    jobs = _Jobs(model, model_lines)
    named = model.named_files()  # a missing one is restored, never swapped for another's
    claims, text_claims = state.all_claims(), state.all_text_claims()
    if claims or text_claims:
        from ..drift.claims import (
            check_config_claim,
            check_file_claim,
            check_job_claim,
            check_text_claim,
        )
    for claim in claims:
        file, line = claim.source, claim.lineno
        if claim.kind == "file":
            found = check_file_claim(repo, claim.target, file=file, line=line, named=named)
        elif claim.kind == "config":
            found = check_config_claim(repo, claim.target, file=file, line=line, named=named)
        elif claim.kind == "job":
            workflow, _, job = claim.target.partition("#")
            model_key = jobs.model_key(claim.env) if claim.env else None
            found = check_job_claim(
                repo, workflow, job, file=file, line=line, named=named, model_key=model_key
            )
        elif claim.kind in ("step", "member"):
            found = jobs.check(claim)
        else:
            found = None
        if found:
            findings.append(found)
    for tc in text_claims:
        found = check_text_claim(
            repo,
            tc.file,
            contains=tc.contains,
            matches=tc.matches,
            file=tc.source,
            line=tc.lineno,
            named=named,
        )
        if found:
            findings.append(found)

    spots_by_doc = state.spots_by_doc()
    if spots_by_doc:  # typed versions or commits: which chart do they belong to?
        from ..drift.hardcoded import Candidate, ChartCommits, check_candidate

        commits = ChartCommits(facts.charts)
    historical = Matcher(list(env.config.deployguide_historical))
    for doc, spots in spots_by_doc:
        if historical(doc):  # incident reports quote old versions on purpose
            continue
        for spot in spots:
            found = check_candidate(
                Candidate(spot.token, spot.kind, 0),
                commits,
                file=spot.source,
                line=spot.lineno,
                where=spot.where,
            )
            if found:
                findings.append(found)

    for _name, chart in sorted(facts.charts.items()):
        # a chart-only model pins nothing; an unreadable pin has its deployguide.file warning
        if chart.spec.pin is None or chart.pin_problem is not None:
            continue
        file, line = pin_location(repo, chart)
        found = check_pin(chart, file=file, line=line)
        if found:
            findings.append(found)

    refs = [ChecklistRef(c.env, c.checklist_id, c.source, c.lineno) for c in state.all_checklists()]
    findings += check_coverage(
        model.environments,
        refs,
        model_file=str(model.path),
        env_line=lambda name: toml_key_line(model_lines, f"environments.{name}"),
    )
    return findings


class _Jobs:
    """The deploy job of each environment, read once per check run, for the claims that
    name its steps or members (``deploy-step``, ``deploy-member ENV#MEMBER``)."""

    def __init__(self, model: Model, model_lines: list[str]) -> None:
        self.model, self.model_lines = model, model_lines
        self._read: dict[str, JobMatrix | WorkflowError] = {}

    def model_key(self, env: str) -> str:
        """Where the model names the environment's job: the place to fix a renamed job."""
        from ..config import toml_key_line
        from ..drift.finding import display_path

        line = toml_key_line(self.model_lines, f"environments.{env}.job")
        where = display_path(str(self.model.path))
        return f"environments.{env}.job in {where}" + (f":{line}" if line else "")

    def check(self, claim: Claim) -> Finding | None:
        from ..drift import Finding
        from ..drift.claims import check_member_claim, check_step_claim, missing_job
        from ..workflow import WorkflowError, read_job

        env_name, _, rest = claim.target.partition("#")
        file, line = claim.source, claim.lineno
        environment = self.model.environments.get(env_name)
        if environment is None or not environment.workflow or not environment.job:
            return Finding(
                "claim",
                "error",
                claim.source,
                claim.lineno,
                f"environment {env_name!r} has no workflow job in {self.model.path.name}",
                f"set workflow and job under [environments.{env_name}] in {self.model.path}",
            )
        if env_name not in self._read:
            try:
                self._read[env_name] = read_job(
                    self.model.deploy_repo, environment.workflow, environment.job
                )
            except WorkflowError as exc:
                self._read[env_name] = exc
        job = self._read[env_name]
        if isinstance(job, WorkflowError):
            if job.missing_job:
                return missing_job(
                    environment.workflow,
                    environment.job,
                    job.jobs,
                    file=file,
                    line=line,
                    model_key=self.model_key(env_name),
                )
            return Finding(
                "claim", "error", claim.source, claim.lineno, job.message, f"fix {job.file}"
            )
        if claim.kind == "step":
            return check_step_claim(job, env_name, rest, file=file, line=line)
        if not environment.members:
            return Finding(
                "claim",
                "error",
                claim.source,
                claim.lineno,
                f"environment {env_name!r} has no members in {self.model.path.name}",
                f'set members = "KEY" under [environments.{env_name}] in {self.model.path}',
            )
        return check_member_claim(job, env_name, environment.members, rest, file=file, line=line)


def _env_updated(app: Sphinx, env: BuildEnvironment) -> None:
    """``env-updated``: after every read (main process, parallel readers merged). A build
    that read nothing, with the last build's facts, reports the last check run's findings
    when nothing they were computed from changed (:mod:`.lastbuild`)."""
    runtime = get_state(env).runtime
    if runtime.model_path is None:
        return
    if runtime.facts_unchanged and not runtime.reads and runtime.inputs is not None:
        key = checks_key(env, runtime.inputs)
        last = read_record(app, CHECKS_FILE)
        if key is not None and last is not None and last.get("key") == key:
            from ..drift.finding import Finding

            for fields in last["findings"]:
                report(env, Finding(**fields))
            return
    facts = runtime.facts
    if facts is None:
        return
    findings = run_checks(env, facts)
    for finding in findings:
        report(env, finding)
    key = checks_key(env, runtime.inputs) if runtime.inputs is not None else None
    record = {"key": key, "findings": [asdict(f) for f in findings]} if key else None
    write_record(app, CHECKS_FILE, record)


def setup_drift(app: Sphinx) -> None:
    # Docname globs of pages that quote past versions on purpose (incident reports): the
    # hardcoded check skips them, e.g. ["incident-reports/*"].
    app.add_config_value("deployguide_historical", [], "", types=(list, tuple))
    app.add_directive("deploy-claim", guard.directive(DeployClaim))
    app.add_role(HISTORICAL_ROLE, guard.role(DeployHistorical()))
    guard.connect(app, "doctree-read", _doctree_read)
    guard.connect(app, "env-updated", _env_updated)
