"""What the last build resolved and found, kept beside the doctrees, so that a no-op
rebuild neither resolves the facts nor runs the drift checks again.

Sphinx pickles the environment only after a document was read, so what a no-op rebuild
learns cannot be kept there. Two small JSON files in the doctree folder hold it:

* ``deployguide-facts.json``: what the last resolution's facts depend on
  (:func:`~sphinx_deployguide.factinputs.record_inputs`) and the key of those facts as
  pages show them (:func:`.state.facts_key`). ``builder-inited`` checks every input again
  (:func:`~sphinx_deployguide.factinputs.inputs_unchanged`); when all are the same, the
  build's facts are resolved only if something asks for them (:class:`.state.BuildRuntime`).
* ``deployguide-checks.json``: the drift findings of the last check run, under a key of
  everything they were computed from (:func:`checks_key`). A build that read no document
  and whose facts are unchanged reports them again instead of checking again.

Neither file is needed: one that is missing, unreadable or of another shape is a full
resolution, and one that cannot be written only costs the next build that shortcut.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .state import get_state

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

FACTS_FILE = "deployguide-facts.json"
CHECKS_FILE = "deployguide-checks.json"


def read_record(app: Sphinx, name: str) -> dict[str, Any] | None:
    """The record ``name`` the last build left in the doctree folder (None: there is none
    that can be read)."""
    try:
        record = json.loads((Path(app.doctreedir) / name).read_bytes())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(app: Sphinx, name: str, record: dict[str, Any] | None) -> None:
    """Keep ``record`` for the next build; None removes the last one (nothing of it holds)."""
    from ..factcache import write_file_atomically

    path = Path(app.doctreedir) / name
    try:
        if record is None:
            path.unlink(missing_ok=True)
        else:
            write_file_atomically(path, json.dumps(record).encode())
    except OSError:
        pass  # a folder that cannot be written: the next build resolves and checks again


def checks_key(env: BuildEnvironment, facts_record: dict[str, Any]) -> str | None:
    """A key of everything the drift checks read: the facts (``facts_record``, of this
    build's facts), every claimed file by content, the records of the documents, and
    ``deployguide_historical``. None when a claimed file is missing: its finding suggests
    another from a walk of the whole deploy repo, which no key covers."""
    from ..factinputs import file_signature
    from ..files import inside

    state = get_state(env)
    claims, text_claims = state.all_claims(), state.all_text_claims()
    claimed = {c.target.partition("#")[0] for c in claims if c.kind in ("file", "config", "job")}
    claimed.update(c.file for c in text_claims)
    deploy_repo = Path(facts_record["deploy_repo"])
    files: dict[str, Any] = {}
    for relative in sorted(claimed):
        path = inside(deploy_repo, relative)
        signature = file_signature(path) if path is not None else "outside"
        if signature is None:
            return None
        files[relative] = signature
    checklists = [(c.env, c.checklist_id, c.source, c.lineno) for c in state.all_checklists()]
    records = repr((claims, text_claims, state.spots_by_doc(), checklists))
    historical = list(env.config.deployguide_historical)
    payload = json.dumps([facts_record, files, historical, records], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
