"""Log cleaning and matching: runner noise removed, line numbers kept, never slow or crashing."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from sphinx_deployguide.failures import clean_log, load_catalog, match_lines, read_log_tail
from sphinx_deployguide.failures.logtext import (
    MAX_LINE,
    LogText,
    clean_line,
    last_error_lines,
)

CATALOG = load_catalog()
# A user entry with unbounded repeats and ignore_case: searched line by line, pre-filtered.
WITH_USER = load_catalog(
    [
        {
            "id": "user-quota",
            "title": "Quota",
            "patterns": [r"exceeded quota: .*cpu", r"(?i)ß.+k"],
            "stage": "helm-upgrade",
            "verdict": "legitimate",
            "explanation": "e",
            "remedy": "r",
            "ignore_case": True,
        }
    ]
)


def lines_of(text: str, max_bytes: int = 2**20):
    return clean_log(read_log_tail(io.BytesIO(text.encode()), max_bytes))


def test_clean_line_strips_timestamp_marker_and_colours():
    line = clean_line(
        "2024-01-04T16:05:12.1234567Z ##[error]\x1b[31;1mError: UPGRADE FAILED: boom\x1b[0m\r", 7
    )
    assert line.text == "Error: UPGRADE FAILED: boom"
    assert line.marker == "error"
    assert line.number == 7
    assert line.timestamp == datetime(2024, 1, 4, 16, 5, 12, 123456, tzinfo=timezone.utc)
    assert clean_line("::error file=a.py,line=1::bad thing", 1).text == "bad thing"
    assert clean_line("\ufeff2024-01-04T16:05:12Z ##[group]Run x", 1).text == "Run x"
    assert clean_line("plain", 1).timestamp is None


def test_match_reports_line_numbers_and_groups():
    text = "\n".join(
        [
            "2024-01-04T16:05:10.0000000Z ##[group]Run deploy",
            "2024-01-04T16:05:11.0000000Z noise",
            '2024-01-04T16:05:12.0000000Z ##[error]\x1b[31mError: chart "binderhub" version "0.1.0-4e3bafb" '
            "not found in https://jupyterhub.github.io/helm-chart repository\x1b[0m",
        ]
    )
    (match,) = [
        m for m in match_lines(CATALOG, lines_of(text)) if m.entry.id == "chart-version-not-found"
    ]
    assert match.first.number == 3
    assert match.first.groups == {
        "chart": "binderhub",
        "version": "0.1.0-4e3bafb",
        "url": "https://jupyterhub.github.io/helm-chart",
    }
    assert match.first.timestamp == datetime(2024, 1, 4, 16, 5, 12, tzinfo=timezone.utc)


def test_colour_codes_inside_the_signature_do_not_hide_it():
    text = "Error: UPGRADE FAILED: \x1b[1manother operation\x1b[0m (install/upgrade/rollback) is in progress"
    assert [m.entry.id for m in match_lines(CATALOG, lines_of(text))] == ["release-locked"]


def test_case_sensitivity():
    ids = {
        m.entry.id
        for m in match_lines(
            CATALOG,
            lines_of("CONNECTION RESET BY PEER\nerror: TIMED OUT waiting for the condition"),
        )
    }
    assert ids == {"connection-reset"}  # ignore_case entry matches; case-sensitive one does not


def test_bounded_read_keeps_the_tail_with_true_line_numbers():
    body = "".join(f"line {i} padding padding\n" for i in range(1, 5001))
    body += "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"
    log = read_log_tail(io.BytesIO(body.encode()), max_bytes=4096)
    assert log.truncated and log.read_bytes <= 4096 and log.total_bytes == len(body.encode())
    lines = clean_log(log)
    assert lines[0].text.startswith(
        f"line {lines[0].number} "
    )  # whole lines, numbered as in the file
    (match,) = match_lines(CATALOG, lines)
    assert match.first.number == 5001


def test_last_error_lines():
    lines = lines_of("ok\nError: first\nfine\n##[error]second\nall good\n")
    assert [line.text for line in last_error_lines(lines)] == ["Error: first", "second"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_arbitrary_text_never_crashes(text):
    lines = lines_of(text)
    for match in match_lines(CATALOG, lines):
        assert match.count >= len(match.hits) >= 1
        for hit in match.hits:
            assert 1 <= hit.number <= len(lines)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(data):
    lines = clean_log(read_log_tail(io.BytesIO(data), max_bytes=512))
    match_lines(CATALOG, lines)


CLEANING_FRAGMENTS = [
    "\n",
    "\r",
    "\r\n",
    "\x1b[31;1m",
    "\x1b[0m",
    "\x1b]0;title\x07",
    "\x1b]8;;https://x.invalid\x1b\\",
    "\x1b]unterminated",
    "\x1b]0;across\nlines\x07",  # not a sequence: line by line, it never sees the end
    "\x1b",
    "\x9b31m",  # the 8-bit forms of CSI and OSC, on lines with and without an ESC
    "\x9d0;title\x9c",
    "\x9dunterminated",
    "\ufeff",
    "2024-01-04T16:05:12.1234567Z ",
    "2024-01-04T16:05:12Z",
    "2024-13-45T16:05:12Z ",  # a timestamp's shape, not a real date
    "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0664T\u0661\u0666:\u0660\u0665:\u0661\u0662Z ",
    "##[error]",
    "##[group]",
    "##[",
    "::error::",
    "::warning file=a.py,line=1::",
    "::",
    "Error: boom",
    "timed out",
    " ",
    "z" * 3000,  # a few make a line longer than MAX_LINE
    "y" * 9000,  # and longer than the raw cut (4 * MAX_LINE)
]


def naive_clean(text: str) -> list:
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    return [clean_line(line, 1 + i) for i, line in enumerate(raw)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(CLEANING_FRAGMENTS), st.text(max_size=12)), max_size=40))
def test_whole_text_cleaning_equals_line_by_line(parts):
    """The whole-text passes give exactly what clean_line gives on each line, and the
    backwards searches what a walk over every cleaned line gives."""
    text = "".join(parts)
    log = clean_log(LogText(text, 1, len(text), len(text)))
    expected = naive_clean(text)
    assert list(log) == expected
    assert log.texts == [line.text for line in expected]
    assert log.text == "\n".join(log.texts)
    assert [log.text[start:].split("\n", 1)[0] for start in log.starts] == log.texts
    errors = [line for line in expected if line.text.strip() and line.looks_like_error()]
    assert last_error_lines(log) == errors[-8:]
    for index in range(len(expected) + 1):
        stamped = [line for line in expected[:index] if line.timestamp is not None]
        assert log.stamp_before(index) == (stamped[-1] if stamped else None)


def test_long_lines_are_cut():
    line = clean_line("x" * (10 * MAX_LINE), 1)
    assert line.cut and len(line.text) == MAX_LINE


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(CLEANING_FRAGMENTS), st.text(max_size=12)), max_size=40))
# An unterminated sequence at a line's start runs over an introducer that has text before it
# (the hay used to keep the first and remove the second: the cleaned line was not in it).
@example(["\x9dunterminated", "\x98", "z" * 3000])
@example(["\x1b]unterminated", "\x1b[31m", "z" * 3000])
def test_every_cleaned_line_is_a_part_of_its_line_in_the_hay(parts):
    """What the literal pre-filter relies on: the hay (escape sequences removed only where
    text stands on both sides) holds each cleaned line, so a literal of a cleaned line is
    found there (lines cut before cleaning are searched apart, see long_lines)."""
    text = "".join(parts)
    log = clean_log(LogText(text, 1, len(text), len(text)))
    hay = log.hay.split("\n")
    for i, line in enumerate(naive_clean(text)):
        if i not in log.long_lines:
            assert line.text in hay[i], (i, line.text, hay[i])


# Adversarial input: long lines made of near-matches of every shipped pattern's literal
# parts (the start of a signature repeated without its end), which is what makes a
# backtracking regex quadratic or worse. Run in a subprocess under a generous alarm: the
# check is "it finishes", not a timing; a catastrophic pattern would hang for hours.
ADVERSARIAL = textwrap.dedent(
    """
    import re, signal, sys
    signal.alarm(120)
    from sphinx_deployguide.failures import load_catalog
    from sphinx_deployguide.failures.regexsafety import required_literals
    catalog = load_catalog()
    size = int(sys.argv[1])
    pieces = ['chart "', 'version "', ' not found in ', "can't get a valid version for ", 'resource ',
              'lookup ', 'exit code 13', '=' * 50 + ' ', 'status code ', 'dial tcp ', 'FAILED: ', ' a',
              '"', ':', '/', '-', ' ', 'x', '1']
    checked = 0
    for entry in catalog:
        for regex in entry.regexes:
            lits = required_literals(regex.pattern)[0]
            lit = max(lits, key=len) if lits else "x"
            for piece in pieces + [lit, lit[:-1]]:
                line = (piece * (size // max(1, len(piece)) + 1))[:size]
                regex.search(line)
                checked += 1
    print(checked)
    """
)


def test_shipped_patterns_finish_on_long_adversarial_lines():
    result = subprocess.run(
        [sys.executable, "-c", ADVERSARIAL, str(MAX_LINE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr  # killed by the alarm -> non-zero
    assert int(result.stdout) > 500


def test_matcher_on_200k_char_lines_finishes():
    """Through the whole pipeline (line cap included), in a subprocess with an alarm."""
    code = textwrap.dedent(
        """
        import io, signal
        signal.alarm(120)
        from sphinx_deployguide.failures import clean_log, load_catalog, match_lines, read_log_tail
        near = ('chart "x" version "' * 12000)[:200000] + "\\n" + ("lookup a.b " * 20000) + "\\n"
        lines = clean_log(read_log_tail(io.BytesIO(near.encode())))
        print(len(match_lines(load_catalog(), lines)), len(lines))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "2"]


def naive_matches(catalog, lines):
    """The reference: every line, every pattern, in order (no pre-filter, no joined text)."""
    result = {}
    for entry in catalog:
        hits = []
        for line in lines:
            for index, regex in enumerate(entry.regexes):
                found = regex.search(line.text)
                if found:
                    hits.append(
                        (line.number, index, {k: v for k, v in found.groupdict().items() if v})
                    )
                    break
        if hits:
            result[entry.id] = hits
    return result


FRAGMENTS = [
    'chart "binderhub" version "0.1.0-4e3bafb" not found in https://x.invalid repository',
    'chart "binderhub" version "0.1.0-4e3bafb" not \x1b[1mfound\x1b[0m in https://x.invalid repository',
    "binderhub-0.1.0-4e3bafb not found in https://x.invalid repository",
    "can't get a valid version for repositories binderhub",
    "Can't get a valid version for repositories binderhub",  # Helm 2
    "CAN'T GET A VALID VERSION FOR REPOSITORIES",  # no variant: must not match
    "UPGRADE FAILED: ",
    "context deadline exceeded",
    "timed out waiting for the condition",
    "CrashLoopBackOff",
    "exit code 137",
    "exit status 143",
    "CONNECTION RESET BY PEER",
    "Status Code: 503",
    "HTTP/1.1 504",
    "429 Too Many Requests",
    "TooManyRequests",
    "lookup a.invalid on 10.0.0.1:53: no such host",
    "Exceeded Quota: 4 CPU",
    "ẞ",
    "ß",
    "\u212a",
    "İ",
    "\x1b[31m",
    "2024-01-04T16:05:12.1234567Z ",
    "##[error]",
    " ",
    "\r",
    ":",
    '"',
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=8),
        max_size=30,
    ),
    st.sampled_from([None, 0, 2]),
)
def test_fast_matcher_equals_naive_reference(parts, limit):
    """Literal pre-filter (limit 2 leaves out the literals of more lines), candidate lines
    and whole-text scan (limit 0 forces it) all give exactly what trying every pattern on
    every line gives."""
    text = "\n".join("".join(line) for line in parts)
    lines = lines_of(text)
    for catalog in (CATALOG, WITH_USER):
        fast = {
            m.entry.id: [(h.number, h.pattern, h.groups) for h in m.hits]
            for m in match_lines(catalog, lines, candidate_limit=limit)
        }
        assert fast == naive_matches(catalog, lines)


def test_lines_cut_before_cleaning_match_as_line_by_line():
    """Over 4 * MAX_LINE characters a line is cut before its escape codes are removed, so
    what a whole-log pass removes and what the cut line keeps may differ: such lines are
    always searched, and give what line-by-line cleaning gives. Here: an error after many
    colour codes (kept in the cut: it matches), and one inside a title sequence that the
    cut leaves unterminated (removed with the title either way: no match)."""
    error = 'chart "a" version "1" not found in https://r.invalid repository'
    coloured = "\x1b[0m" * 3700 + error + " end" + "y" * 2000
    title = "\x1b[0m" * 3700 + "\x1b]0;" + error + "z" * 1600 + "\x07 end"
    for line in (coloured, title):
        assert len(line) > 4 * MAX_LINE
    lines = lines_of(f"before\n{coloured}\n{title}\nafter\n")
    expected = naive_matches(CATALOG, lines)
    assert expected == {
        "chart-version-not-found": [
            (2, 0, {"chart": "a", "version": "1", "url": "https://r.invalid"})
        ]
    }
    found = {
        m.entry.id: [(h.number, h.pattern, h.groups) for h in m.hits]
        for m in match_lines(CATALOG, lines)
    }
    assert found == expected


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("\x1b\x9b\x90\x98\x9c\x9d\x9e\x9f\x07\\[]PX^_ ;:/-~?@09Amz\t\r")
            + ["\u00e9", "\u2028"]
        ),
        max_size=40,
    )
)
def test_log_cleaning_removes_exactly_the_escape_sequences_of_terminal_output(line):
    """The log's fast patterns (a literal ESC first; the 8-bit forms when present) remove
    on a line what escape.ESCAPE_SEQUENCES, used for every terminal output, removes."""
    from sphinx_deployguide.escape import ESCAPE_SEQUENCES
    from sphinx_deployguide.failures.logtext import _decolor

    assert _decolor(line) == ESCAPE_SEQUENCES.sub("", line)
