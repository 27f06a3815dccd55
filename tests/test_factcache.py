"""The fact cache: git's answers kept under the repository's state, and only those.

Every test compares a run that reads the cache with a run that reads nothing back
(``refresh``) or with git itself: a cached answer must never differ from a fresh one, and
nothing that depends on the clock or the network (fetches, index freshness, states) may be
served from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sphinx_deployguide.chartresolve import resolve_chart
from sphinx_deployguide.chartversion import compute_chart_version
from sphinx_deployguide.config import load_model
from sphinx_deployguide.demo import CHARTPRESS
from sphinx_deployguide.factresolve import resolve_facts
from sphinx_deployguide.git import GitRepo
from tests.gitfixtures import git, merge_chart_change

ROOT = Path(__file__).resolve().parents[1]


def values(facts) -> dict:
    """Every fact's value but the ones that move with the clock (ages)."""
    return {name: f.value for name, f in facts.facts.items() if not f.volatile}


def answers_files(model_file: Path) -> list[Path]:
    return sorted((model_file.parent / ".deployguide-cache" / "answers").glob("*.json"))


def git_logging_path(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``git`` logs each call (then runs the real git), and the log."""
    real = shutil.which("git")
    assert real
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "git-calls.log"
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DEPLOYGUIDE_"))}
    env.update(PATH=f"{folder}{os.pathsep}{env['PATH']}", PYTHONPATH=str(ROOT))
    return env, log


PROBE = (
    "import sys; from sphinx_deployguide.cli import main; code = main(sys.argv[1:]); "
    "print(' '.join(sorted(sys.modules)), file=sys.stderr); sys.exit(code)"
)


def test_a_warm_run_asks_git_only_for_the_state_and_says_the_same(demo_copy, tmp_path):
    env, log = git_logging_path(tmp_path)

    def facts_json() -> tuple[dict, list[str], set[str]]:
        log.write_text("")
        done = subprocess.run(
            [sys.executable, "-c", PROBE, "facts", "--json"],
            cwd=demo_copy.deploy,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        found = json.loads(done.stdout)["facts"]
        kept = {n: f["value"] for n, f in found.items() if not n.endswith((".age", ".verdict"))}
        return kept, log.read_text().splitlines(), set(done.stderr.split())

    cold, cold_calls, _ = facts_json()
    warm, warm_calls, modules = facts_json()
    assert warm == cold
    assert len(cold_calls) > 20
    # one source (both charts come from it): one rev-parse that lists its refs, nothing else
    assert len(warm_calls) == 1 and warm_calls[0].split()[2] == "rev-parse", warm_calls
    assert "--all" in warm_calls[0]
    for heavy in ("yaml", "requests", "email.utils", "sphinx_deployguide.indexfetch"):
        assert heavy not in modules, heavy


def test_a_cold_run_batches_its_git_questions(demo_copy, tmp_path):
    """Each git process costs a few ms of the critical path: the object reads of a run share
    one ``cat-file --batch``, the settings one ``config``, and ``%h`` comes from what a log
    printed. (The code before this counted 48 processes here: 4 ``config``, 9 ``cat-file``,
    3 ``rev-list --abbrev-commit``.)"""
    env, log = git_logging_path(tmp_path)

    def calls() -> list[list[str]]:
        log.write_text("")
        subprocess.run(
            [sys.executable, "-m", "sphinx_deployguide", "facts", "--json"],
            cwd=demo_copy.deploy,
            env=env,
            capture_output=True,
            timeout=120,
            check=True,
        )
        commands = [line.split() for line in log.read_text().splitlines()]
        # the subcommand: after "-c core.abbrev=..." and "-C PATH"
        return [c[next(i for i, a in enumerate(c) if a == "-C") + 2 :] for c in commands]

    cold, warm = calls(), calls()
    assert len(cold) <= 30, cold
    assert sum(c[0] == "cat-file" for c in cold) == 1, cold
    assert sum(c[0] == "config" for c in cold) == 1, cold
    assert not [c for c in cold if c[:2] == ["rev-list", "--abbrev-commit"]], cold
    assert [c[0] for c in warm] == ["rev-parse"], warm


def _commit_chart_change(world) -> None:
    values_yaml = world.source / "helm-chart" / "binderhub" / "values.yaml"
    values_yaml.write_text(values_yaml.read_text() + "\nanotherSetting: 1\n")
    git(world.source, "commit", "-q", "-am", "Another setting")


def _pin_another_version(world) -> None:
    chart = world.deploy / "mybinder" / "Chart.yaml"
    older = world.versions[0].version
    assert older != world.pinned_version
    chart.write_text(chart.read_text().replace(world.pinned_version, older))


def _unpublish_the_current_version(world) -> None:
    index = world.index.read_text()
    assert f"version: {world.current_version}\n" in index
    world.index.write_text(index.replace(f"version: {world.current_version}\n", "version: 9.9.9\n"))


def _read_the_pin_at_another_key(world) -> None:
    text = world.model.read_text()
    old = 'pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"'
    new = 'pin = "mybinder/Chart.yaml#dependencies[name=binderhub-service].version"'
    world.model.write_text(text.replace(old, new, 1))


CHANGES = {
    "refs": (_commit_chart_change, ("charts.binderhub.version", "charts.binderhub.commit")),
    "pin file": (_pin_another_version, ("charts.binderhub.pinned", "charts.binderhub.pending")),
    "index body": (_unpublish_the_current_version, ("charts.binderhub.state",)),
    "model": (_read_the_pin_at_another_key, ("charts.binderhub.pinned",)),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_of_an_input_is_never_hidden_by_the_cache(demo_copy, change):
    """After a change of the refs, the pin file, the index body or the model, a run that
    reads the cache says exactly what a run that reads nothing back says, and the change
    shows."""
    edit, moved = CHANGES[change]
    model_file = demo_copy.model
    before = values(resolve_facts(load_model(model_file)))
    assert answers_files(model_file)  # the cache was written
    assert values(resolve_facts(load_model(model_file))) == before  # and read back

    edit(demo_copy)
    cached = values(resolve_facts(load_model(model_file)))
    fresh = values(resolve_facts(load_model(model_file), refresh=True))
    assert cached == fresh
    for name in moved:
        assert cached.get(name) != before.get(name), name


def test_the_state_covers_refs_objects_and_config(demo_copy):
    """What the key is made of: a commit (refs), a loose object (it can make a SHA prefix
    ambiguous or lengthen a %h), a config setting; and nothing else moves it."""
    from sphinx_deployguide.gitsource import open_source

    def state() -> str:
        return open_source(
            str(demo_copy.source), base_dir=demo_copy.root, cache_dir=demo_copy.root / "c", ttl=60
        ).state()

    first = state()
    assert state() == first
    git(demo_copy.source, "status", "--short")  # reads, writes nothing that matters
    assert state() == first
    blob = subprocess.run(
        ["git", "-C", str(demo_copy.source), "hash-object", "-w", "--stdin"],
        input=b"a new loose object\n",
        capture_output=True,
        check=True,
    )
    assert blob.returncode == 0
    second = state()
    assert second != first
    git(demo_copy.source, "config", "core.abbrev", "12")
    third = state()
    assert third != second
    git(demo_copy.source, "tag", "another-tag")
    assert state() != third


def test_a_fetch_before_a_verdict_is_never_skipped_for_a_cached_answer(demo_copy):
    """The mirror is fresh (TTL) and its answers are cached; a pin then names a merge pushed
    since: the source is fetched before the pin is judged, and every answer after the fetch
    is about the fetched history (the same as with nothing read back)."""
    model_file = demo_copy.model
    text = model_file.read_text()
    model_file.write_text(
        text.replace('source = "../binderhub"', f'source = "{demo_copy.source.as_uri()}"', 1)
    )
    first = resolve_facts(load_model(model_file))
    mirror = first.charts["binderhub"].repo
    assert mirror.is_mirror() and answers_files(model_file)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    pr, merge = merge_chart_change(demo_copy.source, int((now - timedelta(minutes=2)).timestamp()))
    new = compute_chart_version(GitRepo(demo_copy.source), merge, CHARTPRESS, "binderhub")
    chart_yaml = demo_copy.deploy / "mybinder" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace(demo_copy.pinned_version, new.version))

    cached = resolve_facts(load_model(model_file))
    state = cached.charts["binderhub"]
    assert (state.pin_verdict.state, state.pin_verdict.commit) == ("pending", pr)
    assert state.head == merge
    fresh = resolve_facts(load_model(model_file), refresh=True)
    assert values(cached) == values(fresh)


def test_states_move_with_the_clock_whatever_is_cached(demo_copy):
    """The verdict's state is decided on every run: the same cached answers give "pending"
    a minute after the chart commit landed and "overdue" long after."""
    model = load_model(demo_copy.model)
    spec = model.charts["binderhub-service"]
    late = resolve_chart(model, spec, refresh=False, offline="stale")
    assert late.head_verdict.state == "overdue"
    landed = late.head_verdict.landed_at
    assert landed is not None
    early = resolve_chart(
        model, spec, refresh=False, offline="stale", now=landed + timedelta(minutes=1)
    )
    assert early.head_verdict.state == "pending"
    assert early.head_verdict.name == late.head_verdict.name


def test_answers_shared_between_threads_keep_every_answer(tmp_path):
    """A repository and its companion share one :class:`Answers` from two threads: answers
    remembered while another thread saves are all kept, and a save never fails mid-write."""
    import threading

    from sphinx_deployguide.factcache import Answers

    path = tmp_path / "answers.json"
    answers = Answers(path, "state-1")
    writers, each = 4, 300
    start = threading.Barrier(writers + 1)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        start.wait()
        try:
            for i in range(each):
                answers.remember(("q", n, i), [n, i])
                assert answers.ask(("q", n, i), lambda: "recomputed") == [n, i]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    while any(t.is_alive() for t in threads):
        answers.save()  # the dict grows while it is written out
    for thread in threads:
        thread.join()
    answers.save()
    assert not failures, failures
    kept = Answers(path, "state-1")
    for n in range(writers):
        for i in range(each):
            assert kept.known(("q", n, i)) == (True, [n, i])


def test_a_companion_asks_in_another_thread_what_the_repository_then_knows(
    demo_copy, tmp_path, monkeypatch
):
    """A chart version computed by a companion, in another thread, is the repository's
    answer too: asked again there it costs no git process, and it is git's own answer (a
    repository without a cache computes the same). The companion reads objects through the
    repository's one ``cat-file --batch``."""
    import threading

    from sphinx_deployguide.gitsource import open_source

    env, log = git_logging_path(tmp_path)
    monkeypatch.setenv("PATH", env["PATH"])
    repo = open_source(
        str(demo_copy.source), base_dir=demo_copy.root, cache_dir=tmp_path / "cache", ttl=60
    )
    scheme, name = "chartpress", "binderhub"
    head = compute_chart_version(repo, "main", CHARTPRESS, name, scheme)
    older = demo_copy.commits[next(iter(demo_copy.commits))]
    companion = repo.companion()
    found = {}

    def ask() -> None:
        found["older"] = compute_chart_version(companion, older, CHARTPRESS, name, scheme)

    thread = threading.Thread(target=ask)
    thread.start()
    again = compute_chart_version(repo, "main", CHARTPRESS, name, scheme)  # meanwhile
    thread.join()
    assert again == head
    calls = log.read_text().splitlines()
    assert sum(" cat-file " in f" {c} " for c in calls) == 1, calls
    assert sum(" config " in f" {c} " for c in calls) == 1, calls

    log.write_text("")
    assert compute_chart_version(repo, older, CHARTPRESS, name, scheme) == found["older"]
    assert log.read_text() == ""  # known from the companion's answer
    fresh = GitRepo(demo_copy.source)
    assert compute_chart_version(fresh, older, CHARTPRESS, name, scheme) == found["older"]


def test_a_question_asked_in_two_threads_at_once_is_computed_once(tmp_path):
    """A companion thread asking what the main thread is computing waits for that answer
    instead of asking git again; a failure is not an answer (asked again, it is computed);
    a thread never waits for itself."""
    import threading

    from sphinx_deployguide.factcache import Answers

    answers = Answers(tmp_path / "answers.json", "state")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> int:
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        return 42

    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(answers.ask(("q",), slow)), name="a")
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: results.append(answers.ask(("q",), slow)), name="b")
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first one's answer
    release.set()
    first.join(10)
    second.join(10)
    assert results == [42, 42] and calls == ["a"]

    def failing() -> int:
        raise RuntimeError("git failed")

    with pytest.raises(RuntimeError):
        answers.ask(("r",), failing)
    assert answers.ask(("r",), lambda: 7) == 7  # asked again, computed
    # asked again while this thread computes it: computed, never waited for
    assert answers.ask(("s",), lambda: answers.ask(("s",), lambda: 5)) == 5


def test_the_ref_files_move_with_every_ref_and_only_then(demo_copy):
    """``ref_files`` (what a no-op rebuild checks instead of asking git for every ref):
    a commit, a new branch or tag, a deleted ref, packing the refs and a linked work tree's
    own ref each change it; reading the repository does not."""
    from sphinx_deployguide.factcache import ref_files

    repo = GitRepo(demo_copy.source)
    assert repo.probe().returncode == 0 and repo.git_dir is not None
    common, git_dir = repo.common_dir(), repo.git_dir

    def listing() -> str:
        return ref_files(common, git_dir)

    seen = [listing()]
    git(demo_copy.source, "status", "--short")
    git(demo_copy.source, "log", "--oneline", "-3")
    assert listing() == seen[-1]
    for change in (
        ("commit", "-q", "--allow-empty", "-m", "one more"),
        ("branch", "side"),
        ("tag", "v-test"),
        ("pack-refs", "--all"),
        ("branch", "-D", "side"),
        ("update-ref", "refs/heads/main", "HEAD~1"),
    ):
        git(demo_copy.source, *change)
        assert listing() not in seen, change
        seen.append(listing())
    linked = demo_copy.root / "linked"
    git(demo_copy.source, "worktree", "add", "-q", "--detach", str(linked))
    other = GitRepo(linked)
    assert other.probe().returncode == 0 and other.git_dir is not None
    before = ref_files(other.common_dir(), other.git_dir)
    git(linked, "update-ref", "refs/bisect/bad", "HEAD")  # a ref of that work tree only
    assert ref_files(other.common_dir(), other.git_dir) != before


def test_refs_that_move_while_facts_are_resolved_are_not_recorded(demo_copy):
    """The ref files are read after the resolution: if a ref moved meanwhile they would
    stand for refs the facts were not computed from, so nothing is recorded."""
    from sphinx_deployguide.factinputs import record_inputs

    facts = resolve_facts(load_model(demo_copy.model))
    assert record_inputs(facts, {}) is not None
    git(demo_copy.source, "commit", "-q", "--allow-empty", "-m", "landed meanwhile")
    assert record_inputs(facts, {}) is None
    assert record_inputs(resolve_facts(load_model(demo_copy.model)), {}) is not None
