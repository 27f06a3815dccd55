"""No crash of the whole build: every event handler, directive and role of the extension
runs guarded.

An exception nobody planned for (a bug, or input no check foresaw) becomes one located
``deployguide.internal`` warning (``-W`` still fails the build, naming where) and the rest
of the site builds: a handler gives its neutral result, a directive renders nothing, a role
renders its source as a problem. A :class:`~sphinx_deployguide.errors.DeployGuideError`
that escapes is a user's mistake: the same, under ``deployguide.config``. Sphinx's own
errors (a ``ConfigError`` meant to stop the build) and docutils' directive errors pass
through unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from docutils.parsers.rst import Directive, DirectiveError
from sphinx.errors import SphinxError

from ..errors import DeployGuideError
from .warnings import DeployGuideWarning, warn

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

_PASS_THROUGH = (SphinxError, DirectiveError, nodes.SkipNode)


def _report(env: BuildEnvironment | None, exc: Exception, location: Any, doing: str) -> None:
    if isinstance(exc, DeployGuideError):
        warn(env, location, DeployGuideWarning.CONFIG, str(exc))
    else:
        from ..stdio import internal_error  # here: only a bug gets this far

        warn(env, location, DeployGuideWarning.INTERNAL, internal_error(exc, doing))


def _event_location(app: Sphinx, args: tuple[Any, ...]) -> Any:
    """The document the event is about, else the one being read, else ``conf.py``."""
    try:
        env = app.env
        for arg in args:
            if isinstance(arg, str) and env is not None and arg in env.all_docs:
                return arg
        docname = env.docname if env is not None else None
    except Exception:  # noqa: BLE001 - no environment (yet): point at conf.py
        docname = None
    return docname or f"{Path(app.confdir) / 'conf.py'}:"


def connect(
    app: Sphinx,
    event: str,
    handler: Callable[..., Any],
    *,
    default: Callable[[], Any] = lambda: None,
    priority: int = 500,
) -> None:
    """``app.connect(event, handler)``, guarded; ``default()`` is returned after a failure."""

    @functools.wraps(handler)
    def guarded(app: Sphinx, *args: Any) -> Any:
        try:
            return handler(app, *args)
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # noqa: BLE001 - one located warning, never a dead build
            _report(
                getattr(app, "env", None),
                exc,
                _event_location(app, args),
                f"handling {event} ({handler.__name__})",
            )
            return default()

    app.connect(event, guarded, priority=priority)


def directive(cls: type[Directive]) -> type[Directive]:
    """A subclass of the directive ``cls`` whose ``run`` is guarded."""

    def run(self: Any) -> list[nodes.Node]:
        try:
            return list(cls.run(self))
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # noqa: BLE001
            _report(self.env, exc, self.get_location(), f"running the {self.name} directive")
            return []

    return type(cls.__name__, (cls,), {"run": run, "__doc__": cls.__doc__})


def role(instance: Any) -> Any:
    """The role ``instance`` with its ``run`` guarded (renders its source as a problem)."""
    cls = type(instance)

    def run(self: Any) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        try:
            result: tuple[list[nodes.Node], list[nodes.system_message]] = cls.run(self)
            return result
        except _PASS_THROUGH:
            raise
        except Exception as exc:  # noqa: BLE001
            _report(self.env, exc, self.get_location(), f"rendering the {self.name} role")
            return [nodes.problematic(self.rawtext, self.rawtext)], []

    return type(cls.__name__, (cls,), {"run": run, "__doc__": cls.__doc__})()
