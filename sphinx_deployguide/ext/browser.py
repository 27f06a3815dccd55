"""The runbook in the browser: checklist JS/CSS, copy buttons, trust marks.

Adds ``deployguide.js``/``deployguide.css`` only to pages that render a checklist or a
computed value, tells the script which storage prefix and facts hash to use (``<meta>``
tags), and renders the trust marks that must not depend on JavaScript: a banner on pages
whose facts are stale and a "built at / facts as of" line at the end of runbook pages.
Copy buttons come from sphinx-copybutton, configured to drop ``$ ``/``>>> `` prompts and
output lines unless the project configured it itself.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import guard
from .state import get_facts, get_runtime, get_state

if TYPE_CHECKING:
    from docutils import nodes
    from sphinx.application import Sphinx
    from sphinx.config import Config

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
JS_FILE = "deployguide.js"
CSS_FILE = "deployguide.css"

#: Classes of rendered HTML that make a page a runbook page (checklists, computed values,
#: filled code blocks, fact tables). Matching the rendered body keeps this independent of
#: which node class produced the HTML.
_RUNBOOK_HTML = re.compile(
    r'class="(?:[^"]*\s)?deployguide-(?:checklist|value|code|facts)(?:\s[^"]*)?"'
)

#: sphinx-copybutton settings for shell and Python sessions: copy only the lines that
#: carry a prompt, without the prompt, so output lines are never pasted into a terminal.
COPYBUTTON_DEFAULTS: dict[str, Any] = {
    "copybutton_prompt_text": r"\$ |>>> |\.\.\. ",
    "copybutton_prompt_is_regexp": True,
    "copybutton_only_copy_prompt_lines": True,
    "copybutton_remove_prompts": True,
}


def setup_browser(app: Sphinx) -> None:
    """Register the browser side: config, static files, per-page assets, copy buttons."""
    app.add_config_value(
        "deployguide_storage_prefix", None, "html", types=frozenset({str, type(None)})
    )
    app.setup_extension("sphinx_copybutton")
    # Before sphinx-copybutton copies its settings into the template context (priority 500).
    guard.connect(app, "config-inited", copybutton_defaults, priority=400)
    guard.connect(app, "builder-inited", add_static_path)
    guard.connect(app, "html-page-context", add_page_assets)


def copybutton_defaults(app: Sphinx, config: Config) -> None:
    """Set the prompt-stripping defaults for every setting the project did not set.

    The prompt text and whether it is a regexp go together: a project that set its own
    literal prompt keeps it literal.
    """
    user = {
        name
        for name in COPYBUTTON_DEFAULTS
        if name in getattr(config, "_raw_config", {}) or name in config.overrides
    }
    pair = {"copybutton_prompt_text", "copybutton_prompt_is_regexp"}
    if user & pair:
        user |= pair
    for name, value in COPYBUTTON_DEFAULTS.items():
        if name not in user:
            config[name] = value


def add_static_path(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    static = str(STATIC_DIR)
    if static not in app.config.html_static_path:
        app.config.html_static_path.append(static)
    runtime = get_runtime(app.env)
    runtime.built_at = build_moment()  # one moment for every page of the build
    runtime.page_parts = None


def build_moment() -> datetime:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` for reproducible builds (as Sphinx does)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.fromtimestamp(int(epoch), timezone.utc)
        if epoch and epoch.isdigit()
        else datetime.now(timezone.utc)
    )
    return moment.replace(microsecond=0)


def build_time(moment: datetime | None = None) -> str:
    """``moment`` (default: :func:`build_moment`) as pages show it, to the minute; formatted
    when a page is written (a no-op rebuild writes none)."""
    from ..delay import readable_utc_minute

    return readable_utc_minute((moment or build_moment()).isoformat())


#: Folder names that say nothing about which site it is: the prefix skips them.
_GENERIC_DIRS = frozenset({"docs", "doc", "source", "src", "sphinx"})


def storage_prefix(config: Config, srcdir: str | Path) -> str:
    """The first part of the browser storage keys: the setting, else the ``project`` the
    site names, else the docs folder's name (``mybinder.org-deploy`` for
    ``mybinder.org-deploy/docs/source``): never Sphinx's placeholder "Project name not set",
    which every unnamed site would share."""
    if config.deployguide_storage_prefix:
        return str(config.deployguide_storage_prefix)
    if config.project and ("project" in config._raw_config or "project" in config.overrides):
        return str(config.project)
    folder = Path(srcdir).resolve()
    for candidate in (folder, *folder.parents):
        if candidate.name and candidate.name.lower() not in _GENERIC_DIRS:
            return candidate.name
    return folder.name or "deployguide"


def stale_banner_html(as_of: str) -> str:
    from ..delay import readable_utc_minute

    when = escape(readable_utc_minute(as_of))
    return (
        '<div class="deployguide-stale-banner" role="note">'
        "<strong>Stale values.</strong> The chart index or a source could not be reached "
        "when this page was built, so the values below come from the cache, as of "
        f'<time datetime="{escape(as_of)}">{when}</time>. '
        "Check them before you act on them.</div>\n"
    )


def built_at_html(built_at: str, as_of: str | None, stale: bool) -> str:
    from ..delay import readable_utc_minute

    facts = ""
    if as_of:
        mark = " (stale: from the cache)" if stale else ""
        when = f'<time datetime="{escape(as_of)}">{escape(readable_utc_minute(as_of))}</time>'
        facts = f" · facts as of {when}{mark}"
    return f'\n<p class="deployguide-built-at">Built at {escape(built_at)}{facts}</p>\n'


def add_page_assets(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: nodes.document | None,
) -> None:
    """Per page: assets, meta tags, stale banner and the built-at line on runbook pages."""
    body = context.get("body") or ""
    if doctree is None or not is_runbook_page(app, pagename, body):
        return
    app.add_js_file(JS_FILE, loading_method="defer")
    app.add_css_file(CSS_FILE)
    runtime = get_runtime(app.env)
    if runtime.page_parts is None:  # the same on every page of a build: made once
        runtime.page_parts = page_parts(app)
    metatags, banner, built_at = runtime.page_parts
    context["metatags"] = context.get("metatags", "") + metatags
    context["body"] = banner + body + built_at


def page_parts(app: Sphinx) -> tuple[str, str, str]:
    """(meta tags, stale banner or "", built-at line) of the runbook pages of this build."""
    facts = get_facts(app.env)
    facts_hash = facts.hash if facts is not None else ""
    metatags = (
        f'<meta name="deployguide-storage-prefix" content="{escape(storage_prefix(app.config, app.srcdir))}">\n'
        f'<meta name="deployguide-facts-hash" content="{escape(facts_hash)}">\n'
    )
    stale = bool(facts is not None and facts.stale)
    as_of = str(facts.as_of) if facts is not None else None
    banner = stale_banner_html(as_of) if stale and as_of else ""
    built_at = build_time(get_runtime(app.env).built_at)
    return metatags, banner, built_at_html(built_at, as_of, stale)


def is_runbook_page(app: Sphinx, pagename: str, body: str) -> bool:
    """A page that rendered facts or a checklist (recorded by the extension's state, or
    visible in the HTML when another extension produced it)."""
    state = get_state(app.env)
    return bool(
        state.fact_usage.get(pagename)
        or state.checklists.get(pagename)
        or _RUNBOOK_HTML.search(body)
    )
