"""The package's layering holds: no import cycle, the core imports no front end, no module
needs a table of contents (``docs/architecture.md`` describes the layers).

Every ``import`` and ``from ... import`` counts, at module level, inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency. The package root's ``setup()``
(Sphinx's entry point) and ``__main__`` are front ends; the version lives in ``_version``,
so the core never needs the root.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sphinx_deployguide"
NAME = PACKAGE.name
#: The front ends: the Sphinx extension and the command line.
FRONT_ENDS = (f"{NAME}.ext", f"{NAME}.cli")
#: Entry points that hand over to a front end (``extensions = ["sphinx_deployguide"]``,
#: ``python -m sphinx_deployguide``).
ENTRY_POINTS = (NAME, f"{NAME}.__main__")
MAX_LINES = 600
#: Demo data: the history of the demo world, commit by commit.
LONG_DATA = ("demo_history.py",)

#: (importing module, imported module) -> the first line that imports it
Edges = dict[tuple[str, str], int]


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` of ``package``."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = [package.name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_edges(package: Path) -> Edges:
    """Who imports whom inside ``package``: ``from x import name`` imports ``x.name`` when that
    is a module, else ``x``."""
    modules = module_files(package)
    edges: Edges = {}
    for module, path in modules.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                while target not in modules and "." in target:  # import a.b.c: a.b.c or a.b
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != module:
                    edges.setdefault((module, target), node.lineno)
    return edges


def cycles(edges: Iterable[tuple[str, str]]) -> list[tuple[list[str], list[str]]]:
    """The import cycles: each strongly connected component of more than one module (its
    modules, sorted) with one loop through it (``a, b`` for a -> b -> a)."""
    graph: dict[str, list[str]] = {}
    for source, target in edges:
        graph.setdefault(source, []).append(target)
        graph.setdefault(target, [])
    for targets in graph.values():
        targets.sort()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[tuple[list[str], list[str]]] = []
    for root in sorted(graph):  # Tarjan's algorithm, iteratively
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(graph[node]):
                work.append((node, i + 1))
                nxt = graph[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append((sorted(component), _loop(graph, set(component))))
    return sorted(components)


def _loop(graph: dict[str, list[str]], component: set[str]) -> list[str]:
    """One cycle through the smallest name of ``component`` (breadth first: a short one)."""
    start = min(component)
    came_from: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in graph[node]:
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if nxt in component and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def is_front_end(module: str) -> bool:
    return module in ENTRY_POINTS or any(
        module == front or module.startswith(front + ".") for front in FRONT_ENDS
    )


def core_to_front_end(edges: Edges) -> list[str]:
    return [
        f"{source} -> {target} (line {line})"
        for (source, target), line in sorted(edges.items())
        if not is_front_end(source) and is_front_end(target)
    ]


def long_modules(package: Path) -> list[str]:
    found = []
    for module, path in module_files(package).items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and path.name not in LONG_DATA:
            found.append(f"{module}: {lines} lines")
    return found


def test_no_import_cycle() -> None:
    found = cycles(import_edges(PACKAGE))
    described = "\n".join(
        f"  {', '.join(modules)} (e.g. {' -> '.join([*loop, loop[0]])})" for modules, loop in found
    )
    assert not found, f"{len(found)} import cycle(s) among the modules of {NAME}:\n{described}"


def test_the_core_imports_no_front_end() -> None:
    found = core_to_front_end(import_edges(PACKAGE))
    assert not found, (
        f"the core imports the front ends ({', '.join(FRONT_ENDS)}); pass what they render "
        "in instead:\n" + "\n".join("  " + edge for edge in found)
    )


def test_no_module_over_600_lines() -> None:
    found = long_modules(PACKAGE)
    assert not found, f"modules over {MAX_LINES} lines (split them by concern):\n" + "\n".join(
        "  " + module for module in found
    )


def test_the_walk_finds_cycles_and_front_end_imports(tmp_path: Path) -> None:
    """The checks above on a package made to break every rule, so they can fail."""
    package = tmp_path / NAME
    files = {
        "__init__.py": "def setup(app):\n    from .ext import setup\n",
        "__main__.py": "from .cli import main\n",
        "_version.py": "__version__ = '1'\n",
        "a.py": "from ._version import __version__\nfrom .b import thing\n",
        "b.py": "def thing():\n    from .c import other\n",  # inside a function
        "c.py": f"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import {NAME}.a\n",
        "d.py": "import os\nfrom .sub import e\n",
        "sub/__init__.py": "",
        "sub/e.py": "from .. import d\n",
        "ext/__init__.py": "from ..a import thing\n",
        "cli/__init__.py": "from .. import a\n",
        "core.py": "\n" * 10 + "from .cli import run\nfrom .ext.x import y\n",
        "ext/x.py": "y = 1\n",
        "long.py": "x = 1\n" * (MAX_LINES + 1),
        "demo_history.py": "x = 1\n" * (MAX_LINES + 1),
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    edges = import_edges(package)
    a, b, c, d, e = (f"{NAME}.{m}" for m in ("a", "b", "c", "d", "sub.e"))
    assert cycles(edges) == [([a, b, c], [a, b, c]), ([d, e], [d, e])]
    assert core_to_front_end(edges) == [
        f"{NAME}.core -> {NAME}.cli (line 11)",
        f"{NAME}.core -> {NAME}.ext.x (line 12)",
    ]
    assert long_modules(package) == [f"{NAME}.long: {MAX_LINES + 1} lines"]
