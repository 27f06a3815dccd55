"""``deploy-delay-chart CHART``: the publish delay of the last versions as a picture.

HTML gets an inline SVG drawn at build time (:mod:`sphinx_deployguide.delaychart`): a
histogram of the per-version delays with the share published over time, the median, the
90th percentile and the advised wait marked, and a ``<title>``/``<desc>`` giving the numbers
in words. Every other builder (text, LaTeX, man, the checklist builder) prints the one-line
summary that is also the figure's caption. The numbers are the facts
``charts.CHART.delay.samples``/``.median``/``.p90``/``.wait``; when they could not be
computed the directive warns and says why on the page, and draws nothing.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from ..errors import DeployGuideError
from . import guard
from .state import get_facts, note_fact_use
from .valuenode import PASS_THROUGH, FactNode
from .values import message_of
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

FIELDS = ("samples", "median", "p90", "wait")


class deployguide_delay_chart(FactNode, nodes.General, nodes.Element):
    """Attributes ``chart``, ``samples``, ``median``, ``p90``, ``wait`` (seconds) and
    ``provenance``; child: the summary paragraph."""


class DeployDelayChart(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        chart = self.arguments[0].strip()
        facts = get_facts(self.env)
        if facts is None:
            warn(
                self.env,
                self.get_location(),
                DeployGuideWarning.CONFIG,
                "deploy-delay-chart needs deployguide_config (the path of deployguide.toml) "
                "in conf.py",
            )
            return []
        names = {field: f"charts.{chart}.delay.{field}" for field in FIELDS}
        values = {}
        for field, name in names.items():
            note_fact_use(self.env, name)
            try:
                values[field] = facts.get(name)
            except DeployGuideError as error:
                return self.problem(f"deploy-delay-chart {chart!r}: {message_of(error)}")
        from ..delaychart import DelayPicture, summary  # here: few pages draw a chart

        picture = DelayPicture(
            chart,
            tuple(float(s) for s in values["samples"].value),
            float(values["median"].value),
            float(values["p90"].value),
            float(values["wait"].value),
        )
        if not picture.samples:
            return self.problem(f"deploy-delay-chart {chart!r}: no delays were measured")
        text = summary(picture)
        node = deployguide_delay_chart(
            "",
            nodes.paragraph(text, text),
            chart=chart,
            samples=list(picture.samples),
            median=picture.median,
            p90=picture.p90,
            wait=picture.wait,
            fact=names["samples"],
            provenance=values["samples"].provenance.describe(),
        )
        self.set_source_info(node)
        return [node]

    def problem(self, message: str) -> list[nodes.Node]:
        """Warn at the directive and say on the page why there is no chart."""
        warn(self.env, self.get_location(), DeployGuideWarning.FACT, message)
        return [
            nodes.paragraph(
                message, message, classes=["deployguide-problem"], support_smartquotes=False
            )
        ]


def html_visit_chart(self: HTML5Translator, node: deployguide_delay_chart) -> None:
    from ..delaychart import DelayPicture, render_svg

    picture = DelayPicture(
        node["chart"], tuple(node["samples"]), node["median"], node["p90"], node["wait"]
    )
    number = getattr(self, "_deployguide_charts", 0) + 1
    # a count of our own on the translator (one per page): each chart's ids stay unique
    self._deployguide_charts = number  # type: ignore[attr-defined]
    attrs = {
        "data-deployguide-chart": node["chart"],
        "data-deployguide-fact": node["fact"],
        "data-deployguide-delay-chart": "",
    }
    self.body.append(self.starttag(node, "figure", CLASS="deployguide-delay-chart", **attrs))
    self.body.append(render_svg(picture, f"deployguide-delay-{number}"))
    self.body.append("<figcaption>")


def html_depart_chart(self: HTML5Translator, node: deployguide_delay_chart) -> None:
    source = escape(f"Measured from {node['provenance']}.")
    self.body.append(f'<p class="deployguide-chart-source">{source}</p></figcaption></figure>\n')


def setup_delay_chart(app: Sphinx) -> None:
    app.add_node(
        deployguide_delay_chart, html=(html_visit_chart, html_depart_chart), **PASS_THROUGH
    )
    app.add_directive("deploy-delay-chart", guard.directive(DeployDelayChart))
