"""The failure catalog: entries, their validation, and loading (shipped + the model's).

An entry says what a failure looks like in a CI log (``patterns``), where it happens
(``stage``), whether rerunning fixes it (``verdict``), why and what to do. Entries are
validated as a whole when loaded, so a typo in a user's ``[[failures]]`` table is one clear
error naming the entry, the file and the key, not a surprise during an incident.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DeployGuideError
from ..userregex import UserRegex, UserRegexError
from . import regexsafety

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

SHIPPED_CATALOG = Path(__file__).with_name("catalog.toml")

VERDICTS = ("spurious", "legitimate", "depends")
#: Stages, most specific first: a failure in the change's own step says more than a
#: network or runner hiccup seen in the same log (diagnose ranks matches by this order).
STAGES = (
    "helm-dependency",
    "helm-repo",
    "helm-upgrade",
    "rollout",
    "tests",
    "network",
    "runner",
    "infrastructure",
)
#: Stages where the change's own steps run; the others are the environment's.
CHANGE_STAGES = ("helm-dependency", "helm-repo", "helm-upgrade", "rollout", "tests")
CHECKS = ("chart-published", "chart-repository", "rollout")

REQUIRED_KEYS = ("id", "title", "patterns", "stage", "verdict", "explanation", "remedy")
OPTIONAL_KEYS = ("check", "ignore_case")
ID_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


class CatalogError(DeployGuideError):
    """A failure-catalog entry is invalid (names the entry, the file and the key)."""


@dataclass(frozen=True)
class FailureEntry:
    """One kind of failure; ``regexes`` are the compiled ``patterns``."""

    id: str
    title: str
    patterns: tuple[str, ...]
    stage: str
    verdict: str
    explanation: str
    remedy: str
    check: str | None = None
    ignore_case: bool = False
    origin: str = ""  # the file the entry came from (shipped catalog or the model)
    regexes: tuple[re.Pattern[str] | UserRegex, ...] = field(default=(), compare=False, repr=False)

    @property
    def anchor(self) -> str:
        """The HTML id of the entry on the runbook page (``deploy-failures``)."""
        return f"failure-{self.id}"


@dataclass(frozen=True)
class Catalog:
    """Entries in matching order: the model's first, then the shipped ones."""

    entries: tuple[FailureEntry, ...]

    def get(self, entry_id: str) -> FailureEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def for_stage(self, stage: str) -> tuple[FailureEntry, ...]:
        return tuple(e for e in self.entries if e.stage == stage)

    def __iter__(self) -> Iterator[FailureEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _entry_lines(text: str) -> list[int]:
    """Line numbers of the ``[[failures]]`` headers of a TOML text, in order."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(r"\s*\[\[\s*failures\s*\]\]", line)
    ]


def _error(
    raw: Mapping[str, Any],
    index: int,
    origin: str,
    lines: Sequence[int],
    key: str | None,
    message: str,
) -> CatalogError:
    name = raw.get("id") if isinstance(raw.get("id"), str) else None
    which = f"failure entry {name!r}" if name else f"failure entry #{index + 1} (no valid id)"
    line = lines[index] if index < len(lines) else None
    return CatalogError(
        f"{which}: {message}",
        file=origin or None,
        line=line,
        key=f"failures[{index}]" + (f".{key}" if key else ""),
    )


def _text(raw: Mapping[str, Any], key: str, fail: Callable[[str, str], CatalogError]) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(key, f"expected a non-empty string for {key!r}, got {value!r}")
    return value.strip()


def validate_entry(
    raw: Mapping[str, Any],
    index: int,
    *,
    origin: str = "",
    lines: Sequence[int] = (),
    user: bool = True,
) -> FailureEntry:
    """Check one raw ``[[failures]]`` table and compile its patterns.

    A ``user`` entry (the model's) is compiled with RE2 (linear time, see
    :mod:`~sphinx_deployguide.userregex`); the shipped catalog (``user=False``) with Python's
    ``re``, refused when :func:`.regexsafety.unsafe_reason` finds it could backtrack.
    """

    def fail(key: str | None, message: str) -> CatalogError:
        return _error(raw, index, origin, lines, key, message)

    if not isinstance(raw, Mapping):
        raise fail(None, f"expected a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        allowed = ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)
        raise fail(unknown[0], f"unknown key {unknown[0]!r}; allowed keys: {allowed}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise fail(missing[0], f"missing required key {missing[0]!r}")
    entry_id = _text(raw, "id", fail)
    if not ID_RE.fullmatch(entry_id):
        raise fail(
            "id",
            f"id {entry_id!r} must be lowercase letters, digits and dashes (it becomes the "
            f"runbook anchor failure-<id>)",
        )
    title = _text(raw, "title", fail)
    explanation = _text(raw, "explanation", fail)
    remedy = _text(raw, "remedy", fail)
    stage = _text(raw, "stage", fail)
    if stage not in STAGES:
        raise fail("stage", f"unknown stage {stage!r}; expected one of: {', '.join(STAGES)}")
    verdict = _text(raw, "verdict", fail)
    if verdict not in VERDICTS:
        raise fail(
            "verdict", f"unknown verdict {verdict!r}; expected one of: {', '.join(VERDICTS)}"
        )
    check = raw.get("check")
    if check is not None:
        if not isinstance(check, str) or check not in CHECKS:
            raise fail("check", f"unknown check {check!r}; expected one of: {', '.join(CHECKS)}")
    ignore_case = raw.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise fail("ignore_case", f"expected true or false, got {ignore_case!r}")
    patterns = raw["patterns"]
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns:
        raise fail("patterns", "expected a non-empty list of regular expressions")
    regexes: list[re.Pattern[str] | UserRegex] = []
    for number, pattern in enumerate(patterns):
        key = f"patterns[{number}]"
        if not isinstance(pattern, str) or not pattern:
            raise fail(key, f"expected a non-empty string, got {pattern!r}")
        try:
            regex = _compile(pattern, ignore_case=ignore_case, user=user)
        except (re.error, UserRegexError) as exc:
            raise fail(key, f"not a valid regular expression: {exc} in {pattern!r}") from None
        if regex.search(""):
            raise fail(key, f"{pattern!r} matches the empty string, so it would match every line")
        regexes.append(regex)
    return FailureEntry(
        id=entry_id,
        title=title,
        patterns=tuple(patterns),
        stage=stage,
        verdict=verdict,
        explanation=explanation,
        remedy=remedy,
        check=check,
        ignore_case=ignore_case,
        origin=origin,
        regexes=tuple(regexes),
    )


def _compile(pattern: str, *, ignore_case: bool, user: bool) -> re.Pattern[str] | UserRegex:
    if user:
        return UserRegex(pattern, ignore_case=ignore_case)
    flags = re.IGNORECASE if ignore_case else 0
    regex = re.compile(pattern, flags)
    problem = regexsafety.unsafe_reason(pattern, flags)
    if problem:
        raise re.error(f"{problem} (it could take exponential time on a long line)")
    return regex


def validate_entries(
    raws: Iterable[Mapping[str, Any]],
    *,
    origin: str = "",
    text: str | None = None,
    user: bool = True,
) -> list[FailureEntry]:
    """Validate a list of raw entries from one file (``text`` locates them by line)."""
    lines = _entry_lines(text) if text is not None else []
    return [
        validate_entry(raw, i, origin=origin, lines=lines, user=user) for i, raw in enumerate(raws)
    ]


def read_catalog_file(path: Path) -> list[FailureEntry]:
    """The ``[[failures]]`` entries of a TOML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read the failure catalog: {exc.strerror}", file=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"not valid TOML: {exc}", file=path) from None
    raws = data.get("failures")
    if not isinstance(raws, list):
        raise CatalogError("expected [[failures]] tables", file=path, key="failures")
    return validate_entries(raws, origin=str(path), text=text, user=False)


def _model_text(origin: str | Path | None) -> str | None:
    if origin is None:
        return None
    try:
        return Path(origin).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # only used to find line numbers; the model itself was already read


def load_catalog(
    user_entries: Sequence[Mapping[str, Any]] = (),
    user_origin: str | Path | None = None,
    *,
    shipped: Path | None = SHIPPED_CATALOG,
) -> Catalog:
    """The catalog: ``user_entries`` (the model's ``[[failures]]``, from ``user_origin``)
    first, then the shipped entries. Ids must be unique across both."""
    entries = validate_entries(
        user_entries,
        origin=str(user_origin) if user_origin is not None else "",
        text=_model_text(user_origin),
    )
    if shipped is not None:
        entries += read_catalog_file(shipped)
    seen: dict[str, FailureEntry] = {}
    for entry in entries:
        if entry.id in seen:
            first = seen[entry.id]
            raise CatalogError(
                f"duplicate failure id {entry.id!r}: already defined in {first.origin or 'the model'}; "
                "choose another id (entries of the model are tried first anyway)",
                file=entry.origin or None,
                key="failures.id",
            )
        seen[entry.id] = entry
    return Catalog(tuple(entries))


def load_model_catalog(model: Any | None) -> Catalog:
    """The catalog for a loaded model (or the shipped one alone when ``model`` is None)."""
    if model is None:
        return load_catalog()
    return load_catalog(tuple(model.failures), model.path)
