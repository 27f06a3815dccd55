"""The provenance popup's HTML, rendered on the server.

A rendered fact is focusable and names its popup with ``aria-describedby``; the popup is a
``role="tooltip"`` element right after it, ``hidden`` until ``deployguide.js`` shows it on
hover or keyboard focus (kept inside the viewport, closed by Escape). So the provenance is
the value's accessible description with or without the script, and the page needs no
script to say where a value came from (the ``title`` attribute stays for that).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.writers.html5 import HTML5Translator

_STACK = "_deployguide_tooltips"
_COUNT = "_deployguide_tooltip_count"


#: The source name Sphinx gives the documents it renders in pieces (a title in the sidebar,
#: the next/previous links): those copies of a value get no popup of their own.
PARTIAL = "<partial node>"


def tooltip_target_attrs(self: HTML5Translator) -> dict[str, str]:
    """Attributes of the element the popup describes; opens a popup id for :func:`tooltip_html`.

    Ids count up per translator, i.e. per written page, so they are unique on the page.
    A partial rendering (a translator of its own, which would count from 1 again) gets
    none: its copy is a link's text, not a place to stop with the keyboard.
    """
    stack: list[str | None] = getattr(self, _STACK, [])
    setattr(self, _STACK, stack)
    if self.document.get("source") == PARTIAL:
        stack.append(None)
        return {}
    number = getattr(self, _COUNT, 0) + 1
    setattr(self, _COUNT, number)
    tip_id = f"deployguide-tip-{number}"
    stack.append(tip_id)
    return {"tabindex": "0", "aria-describedby": tip_id}


def tooltip_html(self: HTML5Translator, text: str) -> str:
    """The popup for the element opened last by :func:`tooltip_target_attrs`."""
    tip_id = getattr(self, _STACK).pop()
    if tip_id is None:
        return ""
    return (
        f'<span class="deployguide-tooltip" role="tooltip" id="{tip_id}" '
        f"data-deployguide-provenance hidden>{escape(text)}</span>"
    )
