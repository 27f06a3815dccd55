"""Building the docs site and driving Debian's Chromium: shared by the browser tests
(``test_browser.py``: the runbook's behaviour; ``test_themes.py``: how it reads in each
theme). The session fixtures ``web_root`` and ``chromium`` are registered in ``conftest.py``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sphinx_deployguide.demo import DemoWorld

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SCREENSHOTS = DOCS / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- building and serving sites ------------------------------------------------------------------


class Build:
    """A ``sphinx-build -b html`` of ``src`` against ``world``, running in the background
    (the builds of a session run in parallel: they share nothing)."""

    def __init__(
        self,
        web_root: tuple[Path, str],
        name: str,
        src: Path,
        world: DemoWorld,
        extra: tuple[str, ...] = (),
    ):
        root, origin = web_root
        self.name, self.src, self.world = name, src, world
        self.out = root / name
        self.base_url = f"{origin}/{name}/"
        path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        cmd = [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-q",
            "-E",
            "-d",
            str(root / f".doctrees-{name}"),
            "-D",
            f"deployguide_config={world.model}",
            *extra,
            "--",
            str(src),
            str(self.out),
        ]
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
            cwd=REPO,
        )

    def wait(self) -> None:
        """Wait for the build, reading its output as it comes (a full pipe would block it)."""
        if not hasattr(self, "output"):
            self.output = self.process.communicate()

    def finish(self) -> Site:
        self.wait()
        stdout, stderr = self.output
        if self.process.returncode != 0:
            code = self.process.returncode
            pytest.fail(f"sphinx-build of {self.src} failed ({code}):\n{stdout}\n{stderr}")
        return Site(out=self.out, base_url=self.base_url, world=self.world, warnings=stderr)


def finish_all(builds: list[Build]) -> list[Site]:
    """Wait for every build (even when one fails), then report the first failure."""
    for build in builds:
        build.wait()
    return [build.finish() for build in builds]


def copy_docs(dest: Path) -> Path:
    if not (DOCS / "conf.py").is_file():
        pytest.fail(f"the docs site is missing: {DOCS / 'conf.py'} does not exist")
    shutil.copytree(DOCS, dest, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    return dest


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep output clean
        pass


@dataclass
class Site:
    """One build, served under ``base_url``."""

    out: Path
    base_url: str
    world: DemoWorld
    warnings: str

    def pages(self) -> list[str]:
        """Every HTML page of the build, relative to its root."""
        return sorted(
            p.relative_to(self.out).as_posix()
            for p in self.out.rglob("*.html")
            if not p.relative_to(self.out).parts[0].startswith("_")
        )

    def checklist_page(self, checklist_id: str) -> str:
        """The page with checklist ``checklist_id`` (the runbook's ids are the env names)."""
        attr = f'data-deployguide-checklist="{checklist_id}"'
        for page in self.pages():
            if attr in (self.out / page).read_text(encoding="utf-8"):
                return page
        pytest.fail(f"no page of {self.out} has the checklist {checklist_id!r}")

    def url(self, page: str) -> str:
        return self.base_url + page


def web_root(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """A static file server on 127.0.0.1 (port 0) for every build of the session."""
    root = tmp_path_factory.mktemp("sites")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def missing(message: str) -> None:
    """Skip on a developer's machine; under ``CI=true`` the browser tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the browser tests must run)")
    pytest.skip(message)


def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's, never a downloaded one)."""
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM} (Debian package `chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        missing("the playwright Python package is not installed (pip install -e .[test])")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class ConsoleLog:
    """Console errors and uncaught exceptions of a page, with the script they came from
    (the favicon 404 is the test server's, not the site's, and is left out)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("console", self._console)
        page.on(
            "pageerror",
            lambda error: self.errors.append(
                f"{page.url}: uncaught {error.message}\n{error.stack or ''}"
            ),
        )

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        self.errors.append(f"{message.location.get('url')}: {message.text}")

    def ours(self) -> list[str]:
        """The errors raised by deployguide.js."""
        return [e for e in self.errors if "deployguide.js" in e]
