"""Bounded YAML loading: every YAML document we read goes through :func:`load`.

A safe loader runs no code, but YAML aliases still let 1.4 KB ("billion laughs") stand for
a billion values: the constructed data shares them, so loading is cheap, and the first
lookup that walks, prints or compares a shared part expands it (minutes, gigabytes). So
before constructing anything, :func:`load` measures the document as if every alias were
expanded (one pass over the composed node graph, each distinct node visited once) and
refuses a document that aliases would grow by more than :data:`ALIAS_BUDGET` values, or
that nests deeper than :data:`MAX_DEPTH`, or that refers to itself. The refusals are
:class:`yaml.MarkedYAMLError` s with the line of the offending anchor, so every caller's
existing "not valid YAML at line N" handling reports them, located.

Ordinary anchors (``<<: *defaults`` in Helm values, a shared list or two) stay fine.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

__all__ = ["ALIAS_BUDGET", "MAX_DEPTH", "YamlLimitError", "load", "problem_of"]

#: How many values aliases may add to a document beyond what is written in it.
ALIAS_BUDGET = 100_000
#: How deep collections may nest (constructing deeper data would exhaust Python's stack).
MAX_DEPTH = 200


class YamlLimitError(yaml.MarkedYAMLError):
    """A document that aliases would blow up, that nests too deep, or that refers to itself."""


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: Node, *, budget: int = ALIAS_BUDGET, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`YamlLimitError` if ``root`` expands by more than ``budget`` values
    through aliases, nests deeper than ``max_depth`` or contains itself (iterative: a
    hostile document cannot exhaust the stack here either)."""
    sizes: dict[int, int] = {}
    uses: dict[int, int] = {}
    nodes: dict[int, Node] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlLimitError(
                problem="an alias refers to the value that contains it (a recursive document)",
                problem_mark=node.start_mark,
            )
        if depth > max_depth:
            raise YamlLimitError(
                problem=f"values are nested more than {max_depth} levels deep",
                problem_mark=node.start_mark,
            )
        on_path.add(key)
        nodes[key] = node
        stack.append((node, depth, True))
        for child in _children(node):
            uses[id(child)] = uses.get(id(child), 0) + 1
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))
    total, written = sizes[id(root)], len(sizes)
    if total - written <= budget:
        return
    # The anchor that multiplies the most: repeated (uses - 1) times, each of its size.
    key = max((k for k in uses if uses[k] > 1), key=lambda k: (uses[k] - 1) * sizes[k])
    raise YamlLimitError(
        problem=(
            f"aliases would expand this document to {total:,} values ({written:,} are written); "
            f"the anchored value here ({sizes[key]:,} values) is repeated {uses[key]:,} times. "
            f"Aliases may add at most {budget:,} values (a YAML alias bomb is refused)"
        ),
        problem_mark=nodes[key].start_mark,
    )


def load(stream: str | bytes, loader: type) -> Any:
    """``yaml.load(stream, Loader=loader)`` for a safe ``loader``, with the bounds above."""
    instance = loader(stream)
    try:
        node = instance.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return instance.construct_document(node)
    except RecursionError:
        raise YamlLimitError(problem="values are nested too deeply to read") from None
    finally:
        instance.dispose()


def problem_of(exc: yaml.YAMLError) -> tuple[str, int | None]:
    """(what is wrong, 1-based line or None) of a YAML error, for one-line messages."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        text = ": ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return text, (mark.line + 1 if mark is not None else None)
    return str(exc).splitlines()[0] if str(exc) else "invalid YAML", None
