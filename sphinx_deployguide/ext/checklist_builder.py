"""A small builder that renders the checklist of one environment as text, a GitHub task
list or JSON: ``deployguide checklist ENV`` and ``deployguide bump`` print the same steps,
with the same values, as the runbook page, because they come from the same doctrees.

:func:`render_checklist` runs Sphinx on the docs folder with this builder in a temporary
output folder and returns the rendered text.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from types import MethodType
from typing import IO, TYPE_CHECKING, Any

from docutils import nodes
from docutils.utils import new_document
from sphinx.builders import Builder
from sphinx.errors import SphinxError
from sphinx.util.docutils import docutils_namespace, patch_docutils

from ..errors import DeployGuideError
from .checklist import deployguide_checklist, deployguide_step
from .state import get_state

if TYPE_CHECKING:
    from sphinx.application import Sphinx

FORMATS = ("text", "github", "json")


class ChecklistBuilder(Builder):
    """Collects the ``deploy-checklist`` nodes of ``deployguide_checklist_env``."""

    name = "deployguide-checklist"
    format = "text"
    epilog = ""
    allow_parallel = False

    def init(self) -> None:
        from .checklist_text import TextTranslator

        type(self).default_translator_class = TextTranslator  # imported when first built
        self.found: list[tuple[str, deployguide_checklist]] = []
        self.rendered: str | None = None

    def get_outdated_docs(self) -> Any:
        return self.env.found_docs

    def get_target_uri(self, docname: str, typ: str | None = None) -> str:
        return docname

    def prepare_writing(self, docnames: set[str]) -> None:
        pass

    def write_doc(self, docname: str, doctree: nodes.document) -> None:
        wanted = self.config.deployguide_checklist_env
        for node in doctree.findall(deployguide_checklist):
            if node["env"] == wanted:
                self.found.append((docname, node.deepcopy()))
        self._settings = doctree.settings

    def finish(self) -> None:
        env = self.config.deployguide_checklist_env
        fmt = self.config.deployguide_checklist_format
        if not self.found:
            known = sorted({c.env for c in get_state(self.env).all_checklists()})
            raise DeployGuideError(
                f"no deploy-checklist for environment {env!r} in {self.srcdir} "
                f"(checklists found for: {', '.join(known) or 'none'})"
            )
        self.found.sort(key=lambda item: item[0])
        self.found = self._select(self.found, env, self.config.deployguide_checklist_id)
        for docname, node in self.found:
            problems = [p.astext() for p in node.findall(nodes.problematic)]
            if problems:
                raise DeployGuideError(
                    f"checklist {node['checklist_id']!r} has values that could not be computed: "
                    + ", ".join(problems)
                    + " (see the warnings above)",
                    file=self.env.doc2path(docname),
                )
        render = {"text": self.render_text, "github": self.render_github, "json": self.render_json}
        self.rendered = render[fmt]()
        out = Path(self.outdir) / f"checklist-{env}.{'md' if fmt == 'github' else fmt}"
        out.write_text(self.rendered, encoding="utf-8")

    def _select(
        self, found: list[tuple[str, deployguide_checklist]], env: str, wanted_id: str
    ) -> list[tuple[str, deployguide_checklist]]:
        """The checklist asked for by id, else the env's main one: the one whose id is the
        env name, else the first (the same rule as the links between environments)."""
        ids = [node["checklist_id"] for _, node in found]
        if wanted_id:
            chosen = [item for item in found if item[1]["checklist_id"] == wanted_id]
            if not chosen:
                raise DeployGuideError(
                    f"no checklist with id {wanted_id!r} for environment {env!r} "
                    f"(ids: {', '.join(ids)})"
                )
            return chosen[:1]
        main = [item for item in found if item[1]["checklist_id"] == env]
        return (main or found)[:1]

    # --- rendering ---------------------------------------------------------------------------

    def _translate(self, cls: type[Any], children: list[nodes.Node]) -> str:
        document = new_document("<checklist>", self._settings)
        for child in children:
            document += child.deepcopy()
        translator = cls(document, self)
        # Transplant the text visitors of custom nodes (ours, sphinx-design's, ...).
        # Sphinx >= 8.2 keeps the registry on the environment (9 deprecates ``env.app``);
        # 8.1 reaches it only through the application.
        registry = getattr(self.env, "_registry", None) or self.env.app.registry
        handlers = registry.translation_handlers.get("text", {})
        for name, (visit, depart) in handlers.items():
            if name in getattr(cls, "own_nodes", ()):  # the translator renders it itself
                continue
            setattr(translator, "visit_" + name, MethodType(visit, translator))
            if depart:
                setattr(translator, "depart_" + name, MethodType(depart, translator))
        document.walkabout(translator)
        text: str = translator.body.strip("\n")
        return text

    def _steps(self, node: deployguide_checklist) -> list[deployguide_step]:
        return [c for c in node.children if isinstance(c, deployguide_step)]

    def render_text(self) -> str:
        from .checklist_text import TextTranslator

        parts = [self._translate(TextTranslator, [node]) for _, node in self.found]
        return "\n\n".join(parts) + "\n"

    def render_github(self) -> str:
        from .checklist_text import GithubTranslator

        parts = []
        for _, node in self.found:
            lines = [f"**{node['title']}**", ""]
            for step in self._steps(node):
                body = self._translate(GithubTranslator, list(step.children)).splitlines() or [""]
                box = "[x]" if step["checked"] else "[ ]"
                lines.append(f"- {box} {body[0]}".rstrip())
                lines.extend(("  " + line).rstrip() for line in body[1:])
            parts.append("\n".join(lines))
        return "\n\n".join(parts) + "\n"

    def render_json(self) -> str:
        from .checklist_text import UnwrappedTranslator

        data = []
        for docname, node in self.found:
            data.append(
                {
                    "id": node["checklist_id"],
                    "env": node["env"],
                    "title": node["title"],
                    "docname": docname,
                    "facts_hash": node["facts_hash"],
                    "steps": [
                        {
                            "id": step["step_id"],
                            "number": step["number"],
                            "checked": step["checked"],
                            "member": step.get("member"),
                            "text": self._translate(UnwrappedTranslator, list(step.children)),
                        }
                        for step in self._steps(node)
                    ],
                }
            )
        return json.dumps({"checklists": data}, indent=2, ensure_ascii=False) + "\n"


def render_checklist(
    docs_dir: Path,
    env: str,
    fmt: str = "github",
    config_path: Path | None = None,
    *,
    checklist_id: str | None = None,
    warning_stream: IO[str] | None = None,
) -> str:
    """Render the checklist of ``env`` from the docs site in ``docs_dir``.

    That is the env's main checklist (id = the env name, else the first in page order), or
    the one with ``checklist_id``. ``config_path`` overrides ``deployguide_config`` of the
    site's ``conf.py``. Raises
    :class:`DeployGuideError` when the site has no checklist for ``env`` or a value in it
    could not be computed; Sphinx warnings go to ``warning_stream`` (default stderr).
    """
    if fmt not in FORMATS:
        raise DeployGuideError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    docs_dir = Path(docs_dir).resolve()
    if not (docs_dir / "conf.py").is_file():
        raise DeployGuideError("no conf.py: not a Sphinx docs folder", file=docs_dir)
    overrides: dict[str, Any] = {
        "deployguide_checklist_env": env,
        "deployguide_checklist_format": fmt,
        "deployguide_checklist_id": checklist_id or "",
    }
    if config_path is not None:
        overrides["deployguide_config"] = str(Path(config_path).resolve())
    from sphinx.application import Sphinx

    from ..stdio import internal_error, sphinx_warning_stream, stdout_to_stderr

    with (
        tempfile.TemporaryDirectory(prefix="deployguide-checklist-") as tmp,
        stdout_to_stderr(),  # only the checklist goes to stdout, whatever the docs print
        patch_docutils(docs_dir),
        docutils_namespace(),
    ):
        try:
            app = Sphinx(
                srcdir=docs_dir,
                confdir=docs_dir,
                outdir=Path(tmp) / "out",
                doctreedir=Path(tmp) / "doctrees",
                buildername=ChecklistBuilder.name,
                confoverrides=overrides,
                status=None,
                warning=sphinx_warning_stream(warning_stream),
                freshenv=True,
            )
            app.build()
        except SphinxError as error:
            cause = error.__cause__ or getattr(error, "orig_exc", None)
            if isinstance(cause, DeployGuideError):
                raise cause from None
            raise DeployGuideError(f"building the docs in {docs_dir} failed: {error}") from None
        except DeployGuideError:
            raise
        except Exception as error:  # noqa: BLE001 - the docs' own code (conf.py, an extension)
            raise DeployGuideError(
                internal_error(error, f"building the docs in {docs_dir}")
            ) from None
        builder = app.builder
        assert isinstance(builder, ChecklistBuilder)
        rendered = builder.rendered
    assert rendered is not None
    return rendered


def setup_checklist_builder(app: Sphinx) -> None:
    app.add_builder(ChecklistBuilder)
    app.add_config_value("deployguide_checklist_env", "", "", types=(str,))
    app.add_config_value("deployguide_checklist_format", "github", "", types=(str,))
    app.add_config_value("deployguide_checklist_id", "", "", types=(str,))


__all__ = ["ChecklistBuilder", "FORMATS", "render_checklist"]
