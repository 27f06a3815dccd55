"""Chart version strings of every era: parsing them, and finding them in prose.

The index publishes names of four formats (chartpress has changed its scheme three times
since 2017) besides plain SemVer tags. Commands that only read version strings (``lint``'s
scan for typed-in versions, a log's diagnosis) need no git, no YAML: this module is pure.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

__all__ = ["SEMVER_RE", "ParsedVersion", "parse_version", "version_finder"]

#: SemVer 2 (semver.org's regex, as chartpress uses it).
SEMVER_RE = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class ParsedVersion(NamedTuple):
    """A chart version split into its parts (a named tuple: a run parses every index name).

    era: "sha" (2017-2019, ``0.1.0-441f5ea``), "chartpress-0.4" (``0.2.0-013.dace2ee``),
    "chartpress-0.6" (``0.2.0-n077.hef338bc``), "chartpress-2"
    (``1.0.0-0.dev.git.3983.h383374de``) or "tag" (a plain SemVer release). ``n`` counts
    commits since the tag before chartpress 2, all ancestors since.
    """

    version: str
    era: str
    base: str
    n: int | None
    sha: str | None


_CORE = r"v?(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
_PRE = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*?"
_SHA = r"[0-9a-f]{7,40}"
# pre-2 chartpress joined with "-" after a release tag and "." after a prerelease tag
_OLD_BASE = rf"(?:{_CORE}-{_PRE}\.|{_CORE}-)"
_ERA_PATTERNS = (
    ("chartpress-2", rf"(?P<base>{_CORE}-{_PRE})\.git\.(?P<n>\d+)\.h(?P<sha>{_SHA})"),
    ("chartpress-0.6", rf"(?P<base>{_OLD_BASE})n(?P<n>\d{{3,}})\.h(?P<sha>{_SHA})"),
    ("chartpress-0.4", rf"(?P<base>{_OLD_BASE})(?P<n>\d{{3,}})\.(?P<sha>{_SHA})"),
    ("sha", rf"(?P<base>{_CORE})-(?P<sha>{_SHA})"),
)
# One pattern for all eras, tried in the order above (an alternation tries its branches in
# order, each to the end): group names get the era's index, e.g. ``base0``.
_ERAS_RE = re.compile(
    "^(?:"
    + "|".join(
        re.sub(r"\(\?P<(\w+)>", rf"(?P<\g<1>{i}>", pattern)
        for i, (_, pattern) in enumerate(_ERA_PATTERNS)
    )
    + ")$"
)
_COUNTED_ERAS = frozenset(str(i) for i, (_, p) in enumerate(_ERA_PATTERNS) if "(?P<n>" in p)


@functools.cache
def version_finder() -> re.Pattern[str]:
    """Finds chart versions of the four SHA-bearing formats inside prose (not plain tags:
    "3.12.0" alone is not a chart build); a trailing ".tgz" or sentence dot is allowed.
    Compiled on first use: only the drift checks look for versions in text."""
    return re.compile(
        r"(?<![\w.])(?:"
        + "|".join(re.sub(r"\(\?P<\w+>", "(?:", p) for _, p in _ERA_PATTERNS)
        + r")(?![\w-]|\.(?!tgz\b)\w)"
    )


@functools.lru_cache(maxsize=4096)
def parse_version(version: str) -> ParsedVersion | None:
    """Split a chart version of any era; None if it is none of them (remembered: a run asks
    about the same index names many times)."""
    version = version.strip()
    m = _ERAS_RE.match(version)
    if m:
        i = m.lastgroup[3:]  # type: ignore[index]  # each era's last group is its "sha"
        n = m[f"n{i}"] if i in _COUNTED_ERAS else None
        era = _ERA_PATTERNS[int(i)][0]
        return ParsedVersion(
            version, era, m[f"base{i}"].rstrip("-."), int(n) if n else None, m[f"sha{i}"]
        )
    if SEMVER_RE.fullmatch(version):
        return ParsedVersion(version, "tag", version, None, None)
    return None
