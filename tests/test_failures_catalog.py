"""The failure catalog: shipped entries cover REFERENCE.md, validation names the entry."""

from __future__ import annotations

import re

import pytest

from sphinx_deployguide.config import load_model
from sphinx_deployguide.failures import CatalogError, load_catalog
from sphinx_deployguide.failures.catalog import SHIPPED_CATALOG
from sphinx_deployguide.failures.regexsafety import (
    required_literals,
    unbounded_repeats,
    unsafe_reason,
)
from sphinx_deployguide.failures.signature import readable_signature

GOOD = {
    "id": "quota",
    "title": "Quota exceeded",
    "patterns": [r"exceeded quota: (?P<quota>[\w-]{1,100})"],
    "stage": "helm-upgrade",
    "verdict": "legitimate",
    "explanation": "Too much.",
    "remedy": "Ask for more.",
}

# Every signature of REFERENCE.md "Helm and kubectl failure strings", in each wording.
REFERENCE_LINES = {
    'Error: chart "binderhub" version "0.1.0-4e3bafb" not found in https://jupyterhub.github.io/helm-chart repository': "chart-version-not-found",
    "Error: binderhub not found in https://jupyterhub.github.io/helm-chart repository": "chart-version-not-found",
    "Error: chart \"binderhub\" matching 0.1.0-4e3bafb not found in jupyterhub index. (try 'helm repo update'): no chart version found for binderhub-0.1.0-4e3bafb": "chart-version-not-found",
    "Error: can't get a valid version for repositories binderhub. Try changing the version constraint in Chart.yaml": "dependency-no-valid-version",
    # Helm 2, as mybinder.org-deploy's own docs quote it
    "Error: Can't get a valid version for repositories binderhub. Try changing the version constraint in requirements.yaml": "dependency-no-valid-version",
    "Error: Can't get a valid version for repositories binderhub. Try changing the version constraint in Chart.yaml": "dependency-no-valid-version",
    'Error: can\'t get a valid version for 1 subchart(s): "binderhub" (repository "https://jupyterhub.github.io/helm-chart", version "0.1.0-4e3bafb"). Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml': "dependency-no-valid-version",
    'Error: looks like "https://jupyterhub.github.io/helm-chart" is not a valid chart repository or cannot be reached: failed to fetch': "chart-repository-unreachable",
    "Error: UPGRADE FAILED: timed out waiting for the condition": "helm-wait-timeout",
    "Error: UPGRADE FAILED: context deadline exceeded": "helm-wait-timeout",
    "Error: UPGRADE FAILED: resource Deployment/prod/binder not ready. status: InProgress, message: Deployment is not ready": "helm-wait-timeout",
    "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress": "release-locked",
    "error: timed out waiting for the condition": "rollout-timeout",
    'error: deployment "binder" exceeded its progress deadline': "rollout-timeout",
    "Error: Process completed with exit code 137.": "runner-killed",
    "Process completed with exit code 143.": "runner-killed",
    "read tcp 10.0.0.1:5000->10.0.0.2:443: read: connection reset by peer": "connection-reset",
    "failed to fetch https://x.invalid/index.yaml : 502 Bad Gateway": "http-server-error",
    "503 Service Unavailable": "http-server-error",
    "the server responded with the status code 504 but did not return more information": "http-server-error",
    "429 Too Many Requests": "http-rate-limited",
    "dial tcp: lookup charts.invalid on 10.0.0.10:53: no such host": "dns-failure",
    "curl: (6) Could not resolve host: get.helm.sh": "dns-failure",
    "net/http: TLS handshake timeout": "tls-failure",
}


def ids_matching(catalog, line: str) -> list[str]:
    return [e.id for e in catalog if any(r.search(line) for r in e.regexes)]


def test_shipped_catalog_covers_every_reference_signature():
    catalog = load_catalog()
    for line, entry_id in REFERENCE_LINES.items():
        assert entry_id in ids_matching(catalog, line), line


def test_shipped_catalog_matches_nothing_in_ordinary_lines():
    catalog = load_catalog()
    for line in [
        'Release "staging" has been upgraded. Happy Helming!',
        "Update Complete. ⎈Happy Helming!⎈",
        'Waiting for deployment "binder" rollout to finish: 0 of 1 updated replicas are available...',
        "Process completed with exit code 0.",
        "exit code 1370",
    ]:
        assert ids_matching(catalog, line) == [], line


def test_shipped_patterns_bounded_and_safe():
    """Every repeat is bounded: with Python's backtracking engine an unbounded one can go
    quadratic on a long near-matching line (the adversarial test measures that too)."""
    for entry in load_catalog():
        for pattern in entry.patterns:
            assert unbounded_repeats(pattern) == [], (entry.id, pattern)
            assert unsafe_reason(pattern) is None, (entry.id, pattern)


def test_verdicts_and_checks_of_key_entries():
    catalog = load_catalog()
    assert catalog.get("chart-version-not-found").check == "chart-published"
    assert catalog.get("release-locked").verdict == "legitimate"
    assert catalog.get("runner-killed").verdict == "spurious"
    assert catalog.get("rollout-timeout").check == "rollout"


def test_user_entries_come_first(tmp_path):
    catalog = load_catalog([GOOD], tmp_path / "deployguide.toml")
    assert catalog.entries[0].id == "quota"
    assert catalog.entries[0].origin.endswith("deployguide.toml")
    assert len(catalog) == len(load_catalog()) + 1


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"patterns": ["chart (unclosed"]}, "patterns[0]", "RE2 cannot compile it: missing )"),
        ({"patterns": [r"(a)b\1"]}, "patterns[0]", "backreferences are not supported"),
        ({"patterns": [r"(?=x)y"]}, "patterns[0]", "lookarounds are not supported"),
        ({"patterns": [r"x*"]}, "patterns[0]", "matches the empty string"),
        ({"patterns": []}, "patterns", "non-empty list"),
        ({"verdict": "maybe"}, "verdict", "unknown verdict 'maybe'"),
        ({"check": "ping"}, "check", "unknown check 'ping'"),
        ({"stage": "deploy"}, "stage", "unknown stage 'deploy'"),
        ({"ignore_case": "yes"}, "ignore_case", "expected true or false"),
        ({"patern": ["x"]}, "patern", "unknown key 'patern'"),
        ({"id": "Bad Id"}, "id", "lowercase letters, digits and dashes"),
        ({"title": ""}, "title", "non-empty string"),
    ],
)
def test_validation_errors_name_the_entry(change, key, message, tmp_path):
    raw = {**GOOD, **change}
    with pytest.raises(CatalogError) as info:
        load_catalog([raw], tmp_path / "deployguide.toml")
    text = str(info.value)
    assert message in text
    assert "failure entry" in text
    assert info.value.key == f"failures[0].{key}"
    assert info.value.file == str(tmp_path / "deployguide.toml")


def test_missing_key(tmp_path):
    raw = {k: v for k, v in GOOD.items() if k != "remedy"}
    with pytest.raises(CatalogError, match="failure entry 'quota': missing required key 'remedy'"):
        load_catalog([raw])


def test_duplicate_id_with_shipped_entry():
    with pytest.raises(CatalogError, match="duplicate failure id 'release-locked'"):
        load_catalog([{**GOOD, "id": "release-locked"}])


def test_error_from_model_file_has_its_line(demo_copy):
    """Through the real model loader: the error names deployguide.toml and the entry's line,
    when the model is loaded (a pattern RE2 cannot compile is refused up front)."""
    model = demo_copy.model
    model.write_text(
        model.read_text() + "\n[[failures]]\n"
        'id = "ok"\ntitle = "t"\npatterns = ["fine"]\nstage = "tests"\nverdict = "legitimate"\n'
        'explanation = "e"\nremedy = "r"\n\n'
        "[[failures]]\n"
        'id = "broken"\ntitle = "t"\npatterns = ["(unclosed"]\nstage = "tests"\nverdict = "legitimate"\n'
        'explanation = "e"\nremedy = "r"\n'
    )
    header = [
        i for i, line in enumerate(model.read_text().splitlines(), 1) if line == "[[failures]]"
    ][1]
    with pytest.raises(CatalogError) as info:
        load_model(model)
    assert info.value.line == header
    assert "failure entry 'broken'" in str(info.value)
    assert str(info.value).startswith(f"{model}:{header}: failures[1].patterns[0]: ")


def test_invalid_shipped_style_file(tmp_path):
    bad = tmp_path / "catalog.toml"
    bad.write_text("[[failures]]\nid = 'x'\n")
    with pytest.raises(CatalogError, match="missing required key 'title'"):
        load_catalog(shipped=bad)
    bad.write_text("not toml [")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(shipped=bad)


def test_shipped_catalog_file_is_in_the_package():
    assert SHIPPED_CATALOG.name == "catalog.toml" and SHIPPED_CATALOG.is_file()
    assert SHIPPED_CATALOG.parent.name == "failures"


def test_required_literals_are_in_every_match():
    """The pre-filter never hides a match: one of its literals is in every matching line."""
    used = 0
    for entry in load_catalog():
        for regex in entry.regexes:
            literals, folded = required_literals(regex.pattern, regex.flags & ~re.UNICODE)
            for line in REFERENCE_LINES:
                if regex.search(line) and literals:
                    haystack = line.casefold() if folded else line
                    assert any(lit in haystack for lit in literals), (entry.id, regex.pattern, line)
                    used += 1
    assert used >= len(REFERENCE_LINES)


def test_required_literals_of_alternations_and_flags():
    assert required_literals(r"\b(?P<r>CrashLoopBackOff|ErrImagePull)\b") == (
        ("CrashLoopBackOff", "ErrImagePull"),
        False,
    )
    assert required_literals(r"(?i:Status|HTTP)[ :]{1,3}50[234]") == (("status", "http"), True)
    assert required_literals(r"(?:abc)?x") == (("x",), False)
    assert required_literals(r"[ab]{1,3}") == ((), False)


def test_readable_signature():
    assert (
        readable_signature(
            r'chart "(?P<chart>[^"\s]{1,200})" version "(?P<version>[^"\s]{1,200})" not found in (?P<url>[^\s]{1,500}) repository'
        )
        == 'chart "<CHART>" version "<VERSION>" not found in <URL> repository'
    )
    assert (
        readable_signature(r"exit (?:code|status) (?P<code>137|143)\b")
        == "exit (code|status) (137|143)"
    )


def test_readable_signature_reads_either_case_of_a_letter_as_the_word():
    assert (
        readable_signature(r"[Cc]an't get a valid version for repositories (?P<chart>[\w-]{1,200})")
        == "can't get a valid version for repositories <CHART>"
    )
    assert readable_signature(r"[Ca]n") == "[Ca]n"  # two letters: a class, shown as one
