"""The failure catalog and ``deployguide diagnose``'s engine.

* :mod:`.catalog` - entries, validation, loading (shipped ``catalog.toml`` + the model's)
* :mod:`.regexsafety` - refuses patterns that can backtrack exponentially
* :mod:`.logtext` - bounded log reading, removing timestamps/markers/ANSI codes
* :mod:`.matcher` - lines x entries -> matches with captured values
* :mod:`.checktypes` - what every live check takes and returns
* :mod:`.checks` - the registry of live checks
* :mod:`.chart_published` - the ``chart-published`` check (chart index + git)
* :mod:`.log_checks` - ``chart-repository`` and ``rollout`` (the log and the model's URLs)
* :mod:`.diagnosis` - the verdict: the most specific match wins
* :mod:`.signature` - readable forms of the patterns for the runbook page
"""

from __future__ import annotations

from .catalog import (
    CHECKS,
    SHIPPED_CATALOG,
    STAGES,
    VERDICTS,
    Catalog,
    CatalogError,
    FailureEntry,
    load_catalog,
    load_model_catalog,
)
from .checktypes import CheckContext, CheckResult, LazyFacts
from .diagnosis import Diagnosis, JudgedMatch, diagnose_lines
from .logtext import MAX_LINE, MAX_LOG_BYTES, CleanLog, LogLine, LogText, clean_log, read_log_tail
from .matcher import EntryMatch, LineHit, match_lines

__all__ = [
    "CHECKS",
    "MAX_LINE",
    "MAX_LOG_BYTES",
    "SHIPPED_CATALOG",
    "STAGES",
    "VERDICTS",
    "Catalog",
    "CatalogError",
    "CheckContext",
    "CheckResult",
    "CleanLog",
    "Diagnosis",
    "EntryMatch",
    "FailureEntry",
    "JudgedMatch",
    "LazyFacts",
    "LineHit",
    "LogLine",
    "LogText",
    "clean_log",
    "diagnose_lines",
    "load_catalog",
    "load_model_catalog",
    "match_lines",
    "read_log_tail",
]
