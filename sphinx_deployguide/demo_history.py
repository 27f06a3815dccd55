"""The demo world's description: who committed what, when, and what each file says.

Pure data and a tiny in-memory commit graph (:class:`History`); :mod:`sphinx_deployguide.demo`
turns it into real git repos. Times are UTC; each person's offset is for realism only.
The chart source history holds every chart-version situation a deployer meets (see the
comments in :func:`source_history`); the deploy repo pins versions computed from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

BRANCH = "main"


@dataclass(frozen=True)
class Person:
    """An author or committer of the demo history."""

    name: str
    email: str
    tz: str  # git's "+HHMM" offset, for realism only: times below are UTC

    def ident(self, when: datetime) -> str:
        return f"{self.name} <{self.email}> {int(when.timestamp())} {self.tz}"


AVERY = Person("Avery Chen", "avery@demo.invalid", "+0100")
BO = Person("Bo Martins", "bo@demo.invalid", "+0200")
CHRIS = Person("Chris Okafor", "chris@demo.invalid", "+0000")
DANA = Person("Dana Novak", "dana@demo.invalid", "+0530")
GITHUB = Person("GitHub", "noreply@github.com", "+0000")  # commits "Merge pull request" merges


def _t(text: str) -> datetime:
    """``"03-26 15:33:27"`` -> that time in March 2024, UTC."""
    return datetime.strptime(f"2024-{text}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


Tree = dict[str, tuple[str, str]]  # path -> (mode, text)
Change = Callable[[Tree], None]


def put(path: str, text: str, mode: str = "100644") -> Change:
    def apply(tree: Tree) -> None:
        tree[path] = (mode, text)

    return apply


def edit(path: str, old: str, new: str) -> Change:
    """Replace ``old`` (which must occur exactly once) by ``new``: a typo here fails loudly."""

    def apply(tree: Tree) -> None:
        mode, text = tree[path]
        if text.count(old) != 1:
            raise AssertionError(f"demo history: {old!r} occurs {text.count(old)} times in {path}")
        tree[path] = (mode, text.replace(old, new))

    return apply


def append(path: str, text: str) -> Change:
    def apply(tree: Tree) -> None:
        mode, old = tree[path]
        tree[path] = (mode, old + text)

    return apply


@dataclass
class DemoCommit:
    """One commit of the demo history, written by ``git fast-import``."""

    label: str
    parents: tuple[str, ...]
    author: Person
    author_time: datetime
    committer: Person
    commit_time: datetime
    message: str
    tree: Tree


class History:
    """Builds a commit graph in memory: branches, commits and GitHub-style PR merges."""

    def __init__(self) -> None:
        self.commits: dict[str, DemoCommit] = {}
        self.tips: dict[str, str | None] = {BRANCH: None}
        self.forks: dict[str, str] = {}
        self.tags: list[tuple[str, str, Person, datetime, str]] = []

    def commit(
        self,
        label: str,
        who: Person,
        when: str,
        message: str,
        *changes: Change,
        branch: str = BRANCH,
    ) -> str:
        """A commit on ``branch`` (main or a PR branch): ``changes`` applied to its parent."""
        parent = self.tips[branch]
        tree: Tree = dict(self.commits[parent].tree) if parent else {}
        for change in changes:
            change(tree)
        time = _t(when)
        parents = (parent,) if parent else ()
        self._add(DemoCommit(label, parents, who, time, who, time, message, tree))
        self.tips[branch] = label
        return label

    def branch(self, name: str) -> None:
        """Start a PR branch at the current tip of main."""
        tip = self.tips[BRANCH]
        assert tip is not None
        self.tips[name] = tip
        self.forks[name] = tip

    def merge(
        self, label: str, number: int, branch: str, merger: Person, when: str, title: str
    ) -> str:
        """The merge GitHub's "Merge pull request" button makes (always a real merge commit)."""
        ours, theirs = self.tips[BRANCH], self.tips.pop(branch)
        assert ours and theirs
        base = self.commits[self.forks.pop(branch)].tree
        tree = dict(self.commits[ours].tree)
        their_tree = self.commits[theirs].tree
        for path in sorted(set(base) | set(their_tree)):
            if their_tree.get(path) == base.get(path):
                continue
            if tree.get(path) not in (base.get(path), their_tree.get(path)):
                raise AssertionError(f"demo history: both sides of {label} changed {path}")
            if path in their_tree:
                tree[path] = their_tree[path]
            else:
                tree.pop(path, None)
        time = _t(when)
        message = f"Merge pull request #{number} from {branch}\n\n{title}\n"
        self._add(DemoCommit(label, (ours, theirs), merger, time, GITHUB, time, message, tree))
        self.tips[BRANCH] = label
        return label

    def tag(self, name: str, label: str, who: Person, when: str, message: str) -> None:
        self.tags.append((name, label, who, _t(when), message))

    def _add(self, commit: DemoCommit) -> None:
        if commit.label in self.commits:
            raise AssertionError(f"demo history: duplicate label {commit.label}")
        self.commits[commit.label] = commit

    def changes_under(self, label: str, paths: Iterable[str]) -> bool:
        """Whether ``label`` changed a file under ``paths`` compared with its first parent."""
        commit = self.commits[label]
        before = self.commits[commit.parents[0]].tree if commit.parents else {}
        prefixes = tuple(p.rstrip("/") for p in paths)
        changed = {f for f in set(before) | set(commit.tree) if before.get(f) != commit.tree.get(f)}
        return any(f == p or f.startswith(p + "/") for f in changed for p in prefixes)

    def tags_reachable(self, label: str | None) -> set[str]:
        """Names of the tags on ``label`` or its ancestors."""
        seen: set[str] = set()
        todo = [label] if label else []
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return {name for name, tagged, *_ in self.tags if tagged in seen}

    def first_parents(self, head: str) -> list[str]:
        """Labels on the first-parent chain of ``head``, oldest first."""
        chain = []
        label: str | None = head
        while label:
            chain.append(label)
            parents = self.commits[label].parents
            label = parents[0] if parents else None
        return chain[::-1]


# --- the chart source: files ------------------------------------------------------------------

CHARTPRESS_YAML = """\
# chartpress builds the image and sets the chart version from the latest commit
# that touched any of the paths below (all relative to this folder).
charts:
  - name: binderhub
    imagePrefix: registry.demo.invalid/k8s-
    baseVersion: 1.0.0-0.dev
    repo:
      git: demo/helm-chart
      published: https://demo.invalid/helm-chart
    images:
      binderhub:
        contextPath: ..
        dockerfilePath: images/binderhub/Dockerfile
        valuesPath: image
        rebuildOnContextPathChanges: false
        paths:
          - ../setup.py
          - ../binderhub
"""

CHART_YAML = """\
apiVersion: v2
name: binderhub
version: 0.0.1-set.by.chartpress
description: BinderHub builds environments with repo2docker and runs them with JupyterHub.
home: https://demo.invalid/binderhub
sources:
  - https://demo.invalid/binderhub
kubeVersion: ">=1.23.0-0"
"""

VALUES_YAML = """\
replicas: 1

image:
  name: registry.demo.invalid/k8s-binderhub
  tag: set-by-chartpress

resources:
  requests:
    cpu: 100m
    memory: 256Mi

config:
  BinderHub: {}
"""

DEPLOYMENT_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: binder
  labels:
    app: binder
    release: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: binder
      release: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: binder
        release: {{ .Release.Name }}
    spec:
      containers:
        - name: binder
          image: "{{ .Values.image.name }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: 8585
              name: binder
          resources:
            {{- .Values.resources | toYaml | nindent 12 }}
"""

DOCKERFILE = """\
FROM python:3.11-slim
COPY . /srv/binderhub
RUN pip install --no-cache-dir /srv/binderhub
CMD ["python", "-m", "binderhub"]
"""

SETUP_PY = """\
from setuptools import find_packages, setup

setup(
    name="binderhub",
    version="0.1.0",
    packages=find_packages(),
    install_requires=["tornado>=6.3", "traitlets"],
)
"""

APP_PY = """\
\"\"\"The BinderHub web application (a stand-in for the demo).\"\"\"

import tornado.ioloop
import tornado.web


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("BinderHub demo")


def make_app():
    return tornado.web.Application([(r"/", MainHandler)])


def main():
    make_app().listen(8585)
    tornado.ioloop.IOLoop.current().start()
"""

PUBLISH_WORKFLOW = """\
# Build the image and publish the Helm chart on every push to main.
name: Publish
on:
  push:
    branches: [main]
jobs:
  publish:
    runs-on: ubuntu-22.04
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # chartpress needs the full history
      - run: pip install chartpress
      - run: chartpress --push --publish-chart
        working-directory: helm-chart
"""

SOURCE_README = """\
# BinderHub (demo)

A small stand-in for jupyterhub/binderhub, made by `deployguide demo`. The Helm chart is in
`helm-chart/`; every push to `main` publishes it with chartpress.
"""


# A second chart in the same source, with its own chartpress.yaml: its last publish "failed".
SERVICE_CHARTPRESS_YAML = """\
# The binderhub-service chart: BinderHub's build service without a JupyterHub.
charts:
  - name: binderhub-service
    baseVersion: 0.2.0-0.dev
    repo:
      git: demo/helm-chart
      published: https://demo.invalid/helm-chart
"""

SERVICE_CHART_YAML = """\
apiVersion: v2
name: binderhub-service
version: 0.0.1-set.by.chartpress
description: BinderHub's build service, run without a JupyterHub.
home: https://demo.invalid/binderhub
"""

SERVICE_DEPLOYMENT_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: binderhub-service
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: binderhub-service
  template:
    metadata:
      labels:
        app: binderhub-service
    spec:
      containers:
        - name: service
          image: registry.demo.invalid/k8s-binderhub:{{ .Chart.AppVersion }}
"""

SERVICE_PUBLISH_WORKFLOW = PUBLISH_WORKFLOW.replace(
    "name: Publish", "name: Publish binderhub-service"
).replace("working-directory: helm-chart", "working-directory: service-chart")


def source_history() -> History:
    """The chart source's history: every chart-version situation a deployer meets."""
    h = History()
    hc = "helm-chart/binderhub"
    h.commit(
        "init",
        AVERY,
        "03-04 09:12:07",
        "Initial import of BinderHub\n",
        put("README.md", SOURCE_README),
        put(".gitignore", "__pycache__/\n*.egg-info/\n"),
        put("setup.py", SETUP_PY),
        put("binderhub/__init__.py", '__version__ = "0.1.0"\n'),
        put("binderhub/__main__.py", "from .app import main\n\nmain()\n"),
        put("binderhub/app.py", APP_PY),
        put("helm-chart/chartpress.yaml", CHARTPRESS_YAML),
        put(f"{hc}/Chart.yaml", CHART_YAML),
        put(f"{hc}/values.yaml", VALUES_YAML),
        put(f"{hc}/templates/deployment.yaml", DEPLOYMENT_YAML),
        put("helm-chart/images/binderhub/Dockerfile", DOCKERFILE),
        put(".github/workflows/publish.yml", PUBLISH_WORKFLOW),
        put("docs/index.md", "# BinderHub\n\nBinderHub turns a git repository into a notebook.\n"),
    )
    h.tag("0.1.0", "init", AVERY, "03-04 09:30:00", "Release 0.1.0\n")
    h.commit(
        "docs-config",
        BO,
        "03-04 14:31:40",
        "docs: describe the configuration\n",
        put("docs/configuration.md", "# Configuration\n\nSet `config.BinderHub` in values.\n"),
    )

    # A PR merged while main did not touch the chart: the merge is TREESAME to the PR.
    h.branch("bo/readiness-probe")
    h.commit(
        "pr3",
        BO,
        "03-05 10:02:13",
        "Add a readiness probe to the deployment\n",
        edit(
            f"{hc}/templates/deployment.yaml",
            "              name: binder\n",
            "              name: binder\n          readinessProbe:\n            httpGet:\n"
            "              path: /health\n              port: binder\n"
            "            timeoutSeconds: 1\n",
        ),
        branch="bo/readiness-probe",
    )
    h.merge("merge3", 3, "bo/readiness-probe", AVERY, "03-05 11:40:02", "Add a readiness probe")

    h.commit(
        "memory",
        AVERY,
        "03-06 09:20:55",
        "Raise the default memory request to 512Mi\n",
        edit(f"{hc}/values.yaml", "memory: 256Mi", "memory: 512Mi"),
    )

    # A docs-only PR.
    h.branch("chris/typos")
    h.commit(
        "pr5",
        CHRIS,
        "03-06 13:05:31",
        "docs: fix typos\n",
        edit("docs/index.md", "into a notebook", "into a running notebook"),
        branch="chris/typos",
    )
    h.merge("merge5", 5, "chris/typos", BO, "03-06 15:10:44", "docs: fix typos")

    # A PR of two chart commits.
    h.branch("dana/python-3.12")
    h.commit(
        "pr6a",
        DANA,
        "03-07 08:10:19",
        "Build the image on Python 3.12\n",
        edit("helm-chart/images/binderhub/Dockerfile", "python:3.11-slim", "python:3.12-slim"),
        branch="dana/python-3.12",
    )
    h.commit(
        "pr6b",
        DANA,
        "03-07 08:45:02",
        "Require setuptools >= 69 to build\n",
        edit(
            "setup.py",
            "    packages=find_packages(),\n",
            '    packages=find_packages(),\n    python_requires=">=3.10",\n',
        ),
        put(
            "pyproject.toml",
            '[build-system]\nrequires = ["setuptools>=69"]\n'
            'build-backend = "setuptools.build_meta"\n',
        ),
        branch="dana/python-3.12",
    )
    h.merge("merge6", 6, "dana/python-3.12", AVERY, "03-08 10:05:37", "Build on Python 3.12")

    h.commit(
        "hub-env",
        CHRIS,
        "03-08 16:30:12",
        "Read the hub URL from the environment\n",
        edit("binderhub/app.py", "import tornado.ioloop\n", "import os\n\nimport tornado.ioloop\n"),
        append("binderhub/app.py", '\n\nHUB_URL = os.environ.get("BINDERHUB_HUB_URL", "")\n'),
    )

    # Both sides touch the chart: the merge itself is the chart commit.
    h.branch("bo/ingress")
    h.commit(
        "pr8",
        BO,
        "03-11 09:30:48",
        "Add an ingress to the chart\n",
        append(f"{hc}/values.yaml", "\ningress:\n  enabled: false\n  hosts: []\n"),
        put(
            f"{hc}/templates/ingress.yaml",
            "{{- if .Values.ingress.enabled }}\napiVersion: networking.k8s.io/v1\n"
            "kind: Ingress\nmetadata:\n  name: binder\n{{- end }}\n",
        ),
        branch="bo/ingress",
    )
    h.commit(
        "annotations",
        AVERY,
        "03-11 11:00:05",
        "Add pod annotations to the deployment\n",
        edit(
            f"{hc}/templates/deployment.yaml",
            "        release: {{ .Release.Name }}\n    spec:\n",
            "        release: {{ .Release.Name }}\n      annotations:\n"
            "        checksum/config: {{ .Values.config | toJson | sha256sum }}\n"
            "    spec:\n",
        ),
    )
    h.merge("merge8", 8, "bo/ingress", CHRIS, "03-11 15:20:26", "Add an ingress")

    h.commit(
        "docs-ingress",
        BO,
        "03-12 10:15:09",
        "docs: document the ingress options\n",
        append(
            "docs/configuration.md", "\n## Ingress\n\nSet `ingress.enabled` and `ingress.hosts`.\n"
        ),
    )

    # A PR whose head is docs-only: neither the PR head nor the merge is the chart commit.
    h.branch("chris/json-logs")
    h.commit(
        "pr10",
        CHRIS,
        "03-13 10:00:41",
        "Log requests as JSON\n",
        edit("binderhub/app.py", "import os\n", "import json\nimport logging\nimport os\n"),
        append(
            "binderhub/app.py",
            '\n\nlog = logging.getLogger("binderhub")\n\n\n'
            "def log_request(handler):\n"
            '    entry = {"status": handler.get_status(), "uri": handler.request.uri}\n'
            "    log.info(json.dumps(entry))\n",
        ),
        branch="chris/json-logs",
    )
    h.commit(
        "pr10-docs",
        CHRIS,
        "03-13 10:20:33",
        "docs: mention the JSON logs\n",
        append("docs/configuration.md", "\n## Logs\n\nRequests are logged as JSON lines.\n"),
        branch="chris/json-logs",
    )
    h.merge("merge10", 10, "chris/json-logs", DANA, "03-13 14:00:17", "Log requests as JSON")

    # requirements.txt is not a chart path yet ...
    h.commit(
        "requirements",
        DANA,
        "03-14 09:40:52",
        "Add requirements.txt and a first test\n",
        put("requirements.txt", "tornado==6.3.3\ntraitlets==5.14.1\n"),
        put(
            "tests/test_app.py",
            "from binderhub.app import make_app\n\n\n"
            "def test_make_app():\n    assert make_app() is not None\n",
        ),
    )
    # ... until chartpress.yaml lists it (read chartpress.yaml at each commit, never the work tree).
    h.branch("avery/chartpress-requirements")
    h.commit(
        "pr12",
        AVERY,
        "03-15 10:30:08",
        "chartpress: rebuild the image when requirements.txt changes\n",
        edit(
            "helm-chart/chartpress.yaml",
            "          - ../binderhub\n",
            "          - ../binderhub\n          - ../requirements.txt\n",
        ),
        edit(
            "helm-chart/images/binderhub/Dockerfile",
            "COPY . /srv/binderhub\n",
            "COPY . /srv/binderhub\n"
            "RUN pip install --no-cache-dir -r /srv/binderhub/requirements.txt\n",
        ),
        branch="avery/chartpress-requirements",
    )
    h.merge(
        "merge12",
        12,
        "avery/chartpress-requirements",
        BO,
        "03-15 13:45:50",
        "Rebuild the image when requirements.txt changes",
    )

    h.commit(
        "docs-troubleshooting",
        CHRIS,
        "03-18 09:05:14",
        "docs: add a troubleshooting page\n",
        put("docs/troubleshooting.md", "# Troubleshooting\n\nCheck the pod logs first.\n"),
    )
    h.commit(
        "tornado",
        DANA,
        "03-18 15:00:39",
        "Bump tornado to 6.4\n",
        edit("requirements.txt", "tornado==6.3.3", "tornado==6.4"),
    )

    # Two PRs from the same base merged six minutes apart: the second merge is a chart commit
    # (each side has a chart change the other lacks), and their charts get published out of order.
    h.branch("bo/hub-url")
    h.branch("dana/probe-timeout")
    h.commit(
        "pr15",
        BO,
        "03-19 09:00:27",
        "Make the hub URL configurable\n",
        edit(
            f"{hc}/values.yaml",
            "config:\n  BinderHub: {}\n",
            'config:\n  BinderHub:\n    hub_url: ""\n',
        ),
        branch="bo/hub-url",
    )
    h.commit(
        "pr16",
        DANA,
        "03-19 10:30:03",
        "Increase the readiness probe timeout\n",
        edit(f"{hc}/templates/deployment.yaml", "timeoutSeconds: 1", "timeoutSeconds: 5"),
        branch="dana/probe-timeout",
    )
    h.merge("merge15", 15, "bo/hub-url", AVERY, "03-19 11:00:12", "Make the hub URL configurable")
    h.merge(
        "merge16", 16, "dana/probe-timeout", AVERY, "03-19 11:06:45", "Increase the probe timeout"
    )

    h.commit(
        "docs-probes",
        BO,
        "03-20 10:00:58",
        "docs: explain the probe settings\n",
        append(
            "docs/configuration.md", "\n## Probes\n\nThe readiness probe times out after 5 s.\n"
        ),
    )

    # Another TREESAME merge, with a docs-only commit on main in between.
    h.branch("chris/config-reload")
    h.commit(
        "pr18",
        CHRIS,
        "03-21 10:00:22",
        "Reload the config on SIGHUP\n",
        append(
            "binderhub/app.py",
            '\n\ndef reload_config(signum, frame):\n    log.info("reloading the configuration")\n',
        ),
        branch="chris/config-reload",
    )
    h.commit(
        "docs-faq",
        AVERY,
        "03-21 11:00:36",
        "docs: add an FAQ\n",
        put(
            "docs/faq.md",
            "# FAQ\n\n## Which chart version do I deploy?\n\nThe one the index lists.\n",
        ),
    )
    h.merge(
        "merge18", 18, "chris/config-reload", BO, "03-21 16:00:04", "Reload the config on SIGHUP"
    )

    h.commit(
        "description",
        AVERY,
        "03-22 09:30:31",
        "Update the chart description\n",
        edit(
            f"{hc}/Chart.yaml",
            "description: BinderHub builds environments",
            "description: BinderHub is like a JupyterHub that builds environments",
        ),
    )
    # A second chart, binderhub-service, with its own chartpress.yaml (none of its paths is
    # one of binderhub's): published twice; the publish job of its third version "failed".
    sc = "service-chart/binderhub-service"
    h.commit(
        "service-init",
        DANA,
        "03-22 14:10:05",
        "Add the binderhub-service chart\n",
        put("service-chart/chartpress.yaml", SERVICE_CHARTPRESS_YAML),
        put(f"{sc}/Chart.yaml", SERVICE_CHART_YAML),
        put(f"{sc}/values.yaml", "replicas: 1\n"),
        put(f"{sc}/templates/deployment.yaml", SERVICE_DEPLOYMENT_YAML),
        put(".github/workflows/publish-service.yml", SERVICE_PUBLISH_WORKFLOW),
    )
    h.commit(
        "pdb",
        DANA,
        "03-25 10:10:10",
        "Add a PodDisruptionBudget\n",
        put(
            f"{hc}/templates/pdb.yaml",
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: binder\n"
            "spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: binder\n",
        ),
    )
    h.commit(
        "service-resources",
        BO,
        "03-25 11:30:40",
        "binderhub-service: request resources\n",
        append(f"{sc}/values.yaml", "resources:\n  requests:\n    cpu: 50m\n    memory: 128Mi\n"),
    )
    h.commit(
        "service-probe",
        CHRIS,
        "03-26 09:15:27",
        "binderhub-service: add a liveness probe\n",
        append(
            f"{sc}/templates/deployment.yaml",
            "          livenessProbe:\n            httpGet:\n              path: /health\n"
            "              port: 8585\n",
        ),
    )

    # THE INCIDENT PATTERN (binderhub PR #395, 2018-01-04): the PR's commit touches the chart,
    # main gets a docs-only commit meanwhile, and the merge is TREESAME to the PR on the chart
    # paths. The chart version names the PR commit; a version naming the merge never exists.
    h.branch("avery/network-policy")
    h.commit(
        "incident-pr",
        AVERY,
        "03-26 13:44:12",
        "Add a network policy to the chart\n",
        append(f"{hc}/values.yaml", "\nnetworkPolicy:\n  enabled: true\n"),
        put(
            f"{hc}/templates/netpol.yaml",
            "{{- if .Values.networkPolicy.enabled }}\napiVersion: networking.k8s.io/v1\n"
            "kind: NetworkPolicy\nmetadata:\n  name: binder\nspec:\n  podSelector:\n"
            "    matchLabels:\n      app: binder\n  policyTypes: [Ingress]\n{{- end }}\n",
        ),
        branch="avery/network-policy",
    )
    h.commit(
        "docs-deploying",
        BO,
        "03-26 14:20:45",
        "docs: add a deployment guide\n",
        put("docs/deploying.md", "# Deploying\n\nPin the version that chartpress computed.\n"),
    )
    h.merge(
        "incident-merge",
        21,
        "avery/network-policy",
        CHRIS,
        "03-26 15:33:27",
        "Add a network policy",
    )

    # Docs-only commits at the end: the branch head is not the chart commit.
    h.commit(
        "changelog",
        DANA,
        "03-27 09:00:03",
        "docs: add a changelog\n",
        put("docs/changelog.md", "# Changelog\n\n- A network policy for the chart.\n"),
    )
    h.commit(
        "readme-links",
        BO,
        "03-28 11:00:18",
        "README: link the docs\n",
        append("README.md", "\nRead the docs in [docs/](docs/index.md).\n"),
    )
    return h


# Publish delay (minutes) of each chart version, keyed by the label of the main commit that
# landed it; seconds and sub-seconds are added from a hash of the version. The spread is
# realistic (REFERENCE.md: median ~7 min, p90 ~21 min) and includes a slow outlier, and merge15's
# chart appears in the index after merge16's, although it landed first.
PUBLISH_DELAY_MINUTES: dict[str, int] = {
    "init": 6,
    "merge3": 4,
    "memory": 7,
    "merge6": 12,
    "hub-env": 5,
    "annotations": 3,
    "merge8": 9,
    "merge10": 5,
    "merge12": 18,
    "tornado": 7,
    "merge15": 25,
    "merge16": 4,
    "merge18": 6,
    "description": 40,
    "pdb": 4,
    "incident-merge": 8,
}


#: binderhub-service's chart versions, as PUBLISH_DELAY_MINUTES; the publish job of the one
#: landed by SERVICE_PUBLISH_FAILED "failed", so the index never got it (the overdue case).
SERVICE_PUBLISH_DELAY_MINUTES: dict[str, int] = {"service-init": 5, "service-resources": 8}
SERVICE_PUBLISH_FAILED = "service-probe"


# --- the deploy repo: files ---------------------------------------------------------------------

MYBINDER_CHART_YAML = """\
apiVersion: v2
name: mybinder
version: 0.1.0
description: The demo BinderHub deployment, in the mybinder.org-deploy layout
dependencies:
  # Get the latest version from https://demo.invalid/helm-chart/#development-releases-binderhub
  - name: binderhub
    version: "{binderhub}"
    repository: https://demo.invalid/helm-chart
    condition: binderhubEnabled

  # https://github.com/kubernetes/ingress-nginx/releases
  - name: ingress-nginx
    version: "4.10.0"
    repository: https://kubernetes.github.io/ingress-nginx

  # https://github.com/prometheus-community/helm-charts/releases
  - name: prometheus
    version: "25.17.0"
    repository: https://prometheus-community.github.io/helm-charts
    condition: prometheus.enabled
"""

MYBINDER_VALUES_YAML = """\
binderhubEnabled: true

binderhub:
  replicas: 1
  config:
    BinderHub:
      use_registry: true
      image_prefix: registry.demo.invalid/binder-
  networkPolicy:
    enabled: true

ingress-nginx:
  controller:
    replicaCount: 2

prometheus:
  enabled: true
"""

STAGING_YAML = """\
binderhub:
  config:
    BinderHub:
      hub_url: https://hub.staging.demo.invalid
      badge_base_url: https://staging.demo.invalid
  ingress:
    hosts:
      - staging.demo.invalid
"""

PROD_YAML = """\
binderhub:
  replicas: 3
  config:
    BinderHub:
      hub_url: https://hub.demo.invalid
      badge_base_url: https://demo.invalid
  ingress:
    hosts:
      - demo.invalid
"""

# The federation: one matrix job per environment, one run per member, as in
# mybinder.org-deploy's cd.yml (strategy.matrix.include keyed by federation_member; optional
# keys with defaults in the steps, e.g. ${{ matrix.cluster_name || matrix.federation_member }}).
FEDERATION = (
    # (federation_member, host, extra matrix keys)
    ("prod", "demo.invalid", ""),
    ("hetzner-2i2c", "2i2c.demo.invalid", "            cluster_name: hetzner-2i2c-bare\n"),
    ("hetzner-gesis", "gesis.demo.invalid", "            release_name: gesis\n"),
    ("bids-ovh", "ovh.demo.invalid", "            experimental: true\n"),
)


def _member(name: str, host: str, extra: str) -> str:
    return (
        f"          - federation_member: {name}\n"
        f"            binder_url: https://{host}\n"
        f"            hub_url: https://hub.{host}\n"
        f"{extra}"
    )


CD_WORKFLOW = (
    """\
# Deploy to staging on every push to main, then to every prod federation member if staging
# passed its tests. Each job runs once per member of its matrix.
name: Continuous Deployment

on:
  push:
    branches: [main]
  workflow_dispatch:

concurrency:
  group: deploy
  cancel-in-progress: false

jobs:
  staging-deploy:
    runs-on: ubuntu-22.04
    environment: staging
    strategy:
      fail-fast: false
      matrix:
        include:
          - federation_member: staging
            binder_url: https://staging.demo.invalid
            hub_url: https://hub.staging.demo.invalid
            chartpress_args: "--push"
    steps:
      - name: "Stage 0: Check out the deploy repo"
        uses: actions/checkout@v4
      - name: "Stage 1: Install tools"
        run: pip install -r requirements.txt
      - name: "Stage 2: Get cluster credentials"
        run: echo "$KUBECONFIG_STAGING" > "$HOME/.kube/config"
        env:
          KUBECONFIG_STAGING: ${{ secrets.KUBECONFIG_STAGING }}
      - name: "Stage 3: Run chartpress to build/push images and updates values.yaml"
        run: chartpress ${{ matrix.chartpress_args }}
      - name: "Stage 4: Deploy to staging"
        run: python ./deploy.py ${{ matrix.federation_member }}
      - name: "Stage 4: Verify staging works"
        uses: nick-fields/retry@v3
        with:
          max_attempts: 3
          timeout_minutes: 10
          command: pytest -v tests --binder-url=${{ matrix.binder_url }} --hub-url=${{ matrix.hub_url }}

  prod-deploy:
    needs: staging-deploy
    runs-on: ubuntu-22.04
    environment: prod
    continue-on-error: ${{ matrix.experimental }}
    strategy:
      fail-fast: false
      matrix:
        include:
"""
    + "".join(_member(*member) for member in FEDERATION)
    + """\
    steps:
      - name: "Stage 0: Check out the deploy repo"
        uses: actions/checkout@v4
      - name: "Stage 1: Install tools"
        run: pip install -r requirements.txt
      - name: "Stage 2: Get cluster credentials"
        run: echo "$KUBECONFIG_PROD" > "$HOME/.kube/config"
        env:
          KUBECONFIG_PROD: ${{ secrets.KUBECONFIG_PROD }}
      - name: "Stage 3: Run chartpress to update values.yaml"
        run: chartpress ${{ matrix.chartpress_args || '--skip-build' }}
      - name: "Stage 4: Deploy to ${{ matrix.federation_member }}"
        run: >-
          python ./deploy.py ${{ matrix.federation_member }}
          ${{ matrix.cluster_name || matrix.federation_member }}
          --name ${{ matrix.release_name || matrix.federation_member }}
      - name: "Stage 4: Verify ${{ matrix.federation_member }} works"
        uses: nick-fields/retry@v3
        with:
          max_attempts: 3
          timeout_minutes: 10
          command: pytest -v tests --binder-url=${{ matrix.binder_url }} --hub-url=${{ matrix.hub_url }}
"""
)


def member_yaml(host: str) -> str:
    """``config/<member>.yaml`` of a prod federation member other than prod itself."""
    return (
        "binderhub:\n  config:\n    BinderHub:\n"
        f"      hub_url: https://hub.{host}\n      badge_base_url: https://{host}\n"
        f"  ingress:\n    hosts:\n      - {host}\n"
    )


DEPLOY_PY = """\
#!/usr/bin/env python3
\"\"\"Deploy the mybinder chart to one federation member:
python ./deploy.py MEMBER [CLUSTER] [--name RELEASE]\"\"\"

import argparse
import subprocess

MEMBERS = ["staging", "prod", "hetzner-2i2c", "hetzner-gesis", "bids-ovh"]
DEPLOYMENTS = ["binder", "hub", "proxy"]


def deploy(member, cluster, release):
    subprocess.check_call(["helm", "dependency", "update", "mybinder"])
    # no --wait and no helm --timeout: readiness is checked below, per deployment
    subprocess.check_call(
        [
            "helm", "upgrade", "--install", "--cleanup-on-fail",
            "--kube-context", cluster, "--namespace", member, release, "mybinder",
            "-f", "config/" + member + ".yaml",
        ]
    )
    for name in DEPLOYMENTS:
        subprocess.check_call(
            [
                "kubectl", "rollout", "status", "--context", cluster, "--namespace", member,
                "--timeout=10m", "deployment/" + name,
            ]
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("member", choices=MEMBERS)
    parser.add_argument("cluster", nargs="?", help="the kube context (default: the member)")
    parser.add_argument("--name", help="the Helm release (default: the member)")
    args = parser.parse_args()
    deploy(args.member, args.cluster or args.member, args.name or args.member)


if __name__ == "__main__":
    main()
"""

DEPLOY_CHARTPRESS_YAML = """\
# Our own images (the binderhub chart and its image come from the chart repo).
charts:
  - name: mybinder
    imagePrefix: registry.demo.invalid/mybinder-
    resetTag: set-by-chartpress
    images:
      analytics-publisher:
        valuesPath: analyticsPublisher.image
"""

DEPLOY_README = """\
# demo.invalid deployment

The configuration that deploys BinderHub to https://staging.demo.invalid and then to
the prod federation (https://demo.invalid and three more members), in the layout of
jupyterhub/mybinder.org-deploy (made by `deployguide demo`).

- `mybinder/Chart.yaml` pins the binderhub chart version (and the other dependencies).
- `config/<member>.yaml` holds each federation member's values.
- `.github/workflows/cd.yml` deploys staging (`staging-deploy`), then prod (`prod-deploy`,
  one run per federation member of its matrix), with `deploy.py`.
- `deployguide.toml` describes all this for `deployguide` and the runbook.
"""

DEPLOYGUIDE_TOML = """\
# The deploy model read by `deployguide` and the runbook (paths are relative to this file).
deploy_repo = "."

[charts.binderhub]
source = "../binderhub"
branch = "main"
chartpress = "helm-chart/chartpress.yaml"
index = "../helm-chart/index.yaml"
pin = "mybinder/Chart.yaml#dependencies[name=binderhub].version"

[environments.staging]
url = "https://staging.demo.invalid"
values = ["config/staging.yaml"]
workflow = ".github/workflows/cd.yml"
job = "staging-deploy"
members = "federation_member"

[environments.prod]
after = "staging"
url = "https://demo.invalid"
values = ["config/prod.yaml"]
workflow = ".github/workflows/cd.yml"
job = "prod-deploy"
members = "federation_member"

[cache]
dir = ".deployguide-cache"
"""

DEPLOY_GITIGNORE = """\
__pycache__/
mybinder/charts/
mybinder/Chart.lock
.deployguide-cache/
"""


#: The deploy repo's runbook, shipped in ``sphinx_deployguide/demo_runbook/`` (a listed set,
#: so a stray file there cannot change the demo's SHAs).
RUNBOOK_FILES = ("conf.py", "index.md", "staging.md", "prod.md")

#: Where the runbook lives in the deploy repo: Sphinx's separate source folder, as in
#: mybinder.org-deploy (``deployguide`` finds it there without ``--docs``).
RUNBOOK_DIR = "docs/source"

DEPLOY_README_DOCS = """\
- `docs/source/` is the runbook: `sphinx-build -n -W docs/source docs/_build/html` builds it
  with every value computed, and `deployguide checklist staging` prints its staging checklist.
"""


def runbook_files() -> list[tuple[str, str]]:
    """(name, text) of each runbook file, newlines normalised so every checkout gives the same
    bytes (and so the same SHAs)."""
    folder = resources.files("sphinx_deployguide") / "demo_runbook"
    files = []
    for name in RUNBOOK_FILES:
        text = folder.joinpath(name).read_bytes().decode("utf-8")
        files.append((name, text.replace("\r\n", "\n")))
    return files


SERVICE_DEPENDENCY = """\
  # Get the latest version from https://demo.invalid/helm-chart/#binderhub-service
  - name: binderhub-service
    version: "{version}"
    repository: https://demo.invalid/helm-chart
    condition: binderhubService.enabled

"""

SERVICE_MODEL = """
[charts.binderhub-service]
source = "../binderhub"
branch = "main"
chartpress = "service-chart/chartpress.yaml"
index = "../helm-chart/index.yaml"
pin = "mybinder/Chart.yaml#dependencies[name=binderhub-service].version"
"""


def deploy_history(version_of: Mapping[str, str]) -> History:
    """The deploy repo's history; ``version_of`` maps a source landing label to its chart version
    (binderhub's and binderhub-service's).

    Each pin is made after its version was published (the test checks it).
    """
    h = History()

    def chart_yaml(label: str) -> str:
        return MYBINDER_CHART_YAML.format(binderhub=version_of[label])

    def bump(old: str, new: str) -> Change:
        pin = 'version: "{}"'
        return edit("mybinder/Chart.yaml", pin.format(version_of[old]), pin.format(version_of[new]))

    h.commit(
        "deploy-init",
        AVERY,
        "03-08 13:02:44",
        "Initial deploy configuration\n",
        put("README.md", DEPLOY_README),
        put(".gitignore", DEPLOY_GITIGNORE.replace(".deployguide-cache/\n", "")),
        put("mybinder/Chart.yaml", chart_yaml("merge6")),
        put("mybinder/values.yaml", MYBINDER_VALUES_YAML),
        put("config/staging.yaml", STAGING_YAML),
        put("config/prod.yaml", PROD_YAML),
        *(put(f"config/{name}.yaml", member_yaml(host)) for name, host, _ in FEDERATION[1:]),
        put(".github/workflows/cd.yml", CD_WORKFLOW),
        put("deploy.py", DEPLOY_PY, mode="100755"),
        put("requirements.txt", "chartpress==2.4.0\npytest==8.1.1\n"),
        put("chartpress.yaml", DEPLOY_CHARTPRESS_YAML),
        put(
            "images/analytics-publisher/Dockerfile",
            'FROM python:3.12-slim\nCMD ["python", "-m", "http.server"]\n',
        ),
    )
    h.commit(
        "deploy-bump-1",
        BO,
        "03-11 16:40:09",
        f"binderhub: {version_of['merge6']} -> {version_of['merge8']}\n",
        bump("merge6", "merge8"),
    )
    h.commit(
        "deploy-staging-replicas",
        CHRIS,
        "03-14 10:00:31",
        "staging: run two binder pods\n",
        edit("config/staging.yaml", "binderhub:\n", "binderhub:\n  replicas: 2\n"),
    )
    h.commit(
        "deploy-bump-2",
        AVERY,
        "03-19 11:40:26",
        f"binderhub: {version_of['merge8']} -> {version_of['merge16']}\n",
        bump("merge8", "merge16"),
    )
    h.commit(
        "deploy-model",
        DANA,
        "03-22 14:00:50",
        "Describe the deployment in deployguide.toml\n",
        put("deployguide.toml", DEPLOYGUIDE_TOML),
        put(".gitignore", DEPLOY_GITIGNORE),
    )
    h.commit(
        "deploy-service",
        CHRIS,
        "03-25 15:45:19",
        "Deploy binderhub-service too\n",
        edit(
            "mybinder/Chart.yaml",
            "  # https://github.com/kubernetes/ingress-nginx/releases\n",
            SERVICE_DEPENDENCY.format(version=version_of["service-resources"])
            + "  # https://github.com/kubernetes/ingress-nginx/releases\n",
        ),
        append("deployguide.toml", SERVICE_MODEL),
    )
    h.commit(
        "deploy-runbook",
        BO,
        "03-25 16:20:12",
        "Add a runbook with the staging and prod checklists\n",
        *(put(f"{RUNBOOK_DIR}/{name}", text) for name, text in runbook_files()),
        append(".gitignore", "_build/\n"),
        append("README.md", DEPLOY_README_DOCS),
    )
    return h
