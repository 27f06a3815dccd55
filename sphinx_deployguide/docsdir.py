"""Where the runbook's Sphinx folder is: the one lookup ``checklist``, ``lint`` and ``bump`` share.

Sphinx projects keep ``conf.py`` in ``docs/`` (``sphinx-quickstart`` without separate
folders), ``docs/source/`` (with them: mybinder.org-deploy's layout), or ``doc/``. The model
may sit in the repo root or in the docs folder itself. When none of those has a ``conf.py``,
the folder whose ``conf.py`` sets ``deployguide_config`` to the model is the runbook: found
by reading ``conf.py`` files (never running them) a few levels under the model's folder.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from .errors import DeployGuideError

#: Sphinx's usual places for ``conf.py``, relative to a repo root.
CONVENTIONAL = ("docs", "docs/source", "doc", "doc/source")
#: How deep (in folders below the model's) to look for a ``conf.py`` naming the model.
SEARCH_DEPTH = 4
_SKIP_DIRS = {"_build", "node_modules", "__pycache__", "site-packages", "build", "dist"}
_MAX_CONF_BYTES = 1_000_000


class DocsNotFound(DeployGuideError):
    """No Sphinx folder was found (or ``--docs`` names a folder without ``conf.py``)."""


def configured_model(conf: Path) -> Path | None:
    """The model a ``conf.py`` names with ``deployguide_config = "..."`` (a string literal,
    relative to its folder), read without running the file; ``None`` when it names none."""
    try:
        if conf.stat().st_size > _MAX_CONF_BYTES:
            return None
        tree = ast.parse(conf.read_text(encoding="utf-8"), filename=str(conf))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "deployguide_config" for t in node.targets
        ):
            value = node.value
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
        return (conf.parent / value.value).resolve()
    return None


def _candidates(model_path: Path | None, cwd: Path) -> list[Path]:
    bases = [model_path.parent] if model_path is not None else []
    bases.append(cwd)
    found: list[Path] = []
    for base in bases:
        for folder in [base / rel for rel in CONVENTIONAL] + [base]:
            if folder.resolve() not in (f.resolve() for f in found):
                found.append(folder)
    return found


def _pointing_back(root: Path, model: Path) -> Path | None:
    """The first folder under ``root`` (breadth first, bounded) whose conf.py names ``model``."""
    level = [root]
    for _ in range(SEARCH_DEPTH + 1):
        deeper: list[Path] = []
        for folder in level:
            conf = folder / "conf.py"
            if conf.is_file() and configured_model(conf) == model:
                return folder
            try:
                children = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            deeper += [
                Path(e.path)
                for e in children
                if e.is_dir(follow_symlinks=False)
                and not e.name.startswith(".")
                and e.name not in _SKIP_DIRS
            ]
        level = deeper
    return None


def find_docs_dir(
    model_path: Path | str | None,
    *,
    explicit: Path | str | None = None,
    cwd: Path | str | None = None,
    hint: str = "pass --docs DIR",
) -> Path:
    """The runbook's Sphinx folder (the one holding ``conf.py``).

    ``explicit`` (``--docs``) wins and must hold a ``conf.py``. Otherwise, beside the model
    and then in ``cwd``: ``docs/``, ``docs/source/``, ``doc/``, ``doc/source/`` or the folder
    itself, preferring one whose ``conf.py`` names this model; else the folder under the
    model's whose ``conf.py`` names it. :class:`DocsNotFound` says where it looked.
    """
    if explicit is not None:
        path = Path(explicit)
        if not (path / "conf.py").is_file():
            raise DocsNotFound(f"no conf.py in {path}: not a Sphinx docs folder")
        return path
    here = Path(cwd) if cwd is not None else Path.cwd()
    model = Path(model_path).resolve() if model_path is not None else None
    with_conf = [c for c in _candidates(model, here) if (c / "conf.py").is_file()]
    named = {c: configured_model(c / "conf.py") for c in with_conf}
    if model is not None:
        for folder in with_conf:
            if named[folder] == model:
                return folder
    for folder in with_conf:
        if named[folder] is None or model is None:
            return folder
    if model is not None:
        found = _pointing_back(model.parent, model)
        if found is not None:
            return found
    places = ", ".join(f"{rel}/" for rel in CONVENTIONAL)
    beside = f"beside the model ({model.parent}) or " if model is not None else ""
    naming = (
        f", and no conf.py under {model.parent} sets deployguide_config to {model.name}"
        if model is not None
        else ""
    )
    raise DocsNotFound(
        f"cannot find the docs: no conf.py in {places} {beside}here ({here}){naming}; {hint}"
    )
