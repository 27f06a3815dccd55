"""Reference tables generated from the code, so the docs cannot drift from it:
``deploy-model-reference`` (every key of ``deployguide.toml``, from ``config.MODEL_KEYS``)
and ``deploy-warnings-reference`` (every warning subtype, from ``ext.warnings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from . import guard
from .facts_table import build_table
from .warnings import warning_table

if TYPE_CHECKING:
    from sphinx.application import Sphinx


class DeployModelReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from ..config import MODEL_KEYS

        rows = [
            [[nodes.literal(key, key)], [nodes.Text(kind)], [nodes.Text(meaning)]]
            for key, (kind, meaning) in MODEL_KEYS.items()
        ]
        table = build_table(("Key", "Type", "Meaning"), rows, (30, 15, 55))
        table["classes"] += ["deployguide-model-reference"]
        return [table]


class DeployWarningsReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = [[[nodes.literal(name, name)], [nodes.Text(text)]] for name, text in warning_table()]
        table = build_table(("Warning type", "Meaning"), rows, (30, 70))
        table["classes"] += ["deployguide-warnings-reference"]
        return [table]


def setup_reference(app: Sphinx) -> None:
    app.add_directive("deploy-model-reference", guard.directive(DeployModelReference))
    app.add_directive("deploy-warnings-reference", guard.directive(DeployWarningsReference))
