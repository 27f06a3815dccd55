"""Shared pytest fixtures: Sphinx test roots, the index server, the demo world, the browser."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

# sphinx.testing: `make_app`, `app`, `@pytest.mark.sphinx(testroot=...)` (roots in tests/roots).
pytest_plugins = ("sphinx.testing.fixtures",)


@pytest.fixture(scope="session")
def rootdir() -> Path:
    """Where ``@pytest.mark.sphinx(testroot="x")`` finds ``test-x/`` (sphinx.testing)."""
    return Path(__file__).parent / "roots"


# --- index_server: a real HTTP server on 127.0.0.1, see tests/indexserver.py
@pytest.fixture
def index_server():
    """A started :class:`indexserver.IndexServer` (empty index); stopped after the test."""
    from tests.indexserver import IndexServer

    with IndexServer(b"apiVersion: v1\nentries: {}\n") as server:
        yield server


# --- demo_world / demo_copy: the world of `deployguide demo`, see demo.py
@pytest.fixture(scope="session")
def demo_world(tmp_path_factory):
    """The demo world, built once per session. Read-only: use ``demo_copy`` to change it."""
    from sphinx_deployguide.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-world") / "world")


@pytest.fixture
def demo_copy(demo_world, tmp_path):
    """A writable copy of the demo world for one test (same SHAs, index and model)."""
    from sphinx_deployguide.demo import copy_demo

    return copy_demo(demo_world, tmp_path / "world")


@pytest.fixture
def world(demo_copy, monkeypatch):
    """A writable demo world whose deploy repo has its own (user) git identity, as a person
    running ``deployguide bump`` has (bump and runbook tests; a module may define its own)."""
    from sphinx_deployguide.demo import git_env

    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "DEPLOYGUIDE_POLL_INTERVAL",
    ):
        monkeypatch.delenv(name, raising=False)
    for setting, value in (
        ("user.name", "Rita Reviewer"),
        ("user.email", "rita@deploy.invalid"),
        ("commit.gpgsign", "false"),
    ):
        subprocess.run(
            ["git", "-C", str(demo_copy.deploy), "config", setting, value],
            check=True,
            capture_output=True,
            env=git_env(),
        )
    return demo_copy


# --- web_root / chromium (browser tests): see tests/browsing.py; shared by the browser modules
def _browsing():
    from tests import browsing

    return browsing


@pytest.fixture(scope="session")
def web_root(tmp_path_factory):
    """A static file server on 127.0.0.1 for every site the session builds."""
    yield from _browsing().web_root(tmp_path_factory)


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the session (skips, or fails under CI=true, without it)."""
    yield from _browsing().chromium()
