"""Credentials in URLs never reach an output: not from a log line (``diagnose``), not from
the model (an environment's URL), not from a config value of the deploy repo (a
``{deploy-config}`` role), in any front end (terminal, JSON, GitHub Markdown, HTML)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import DOCS, SPHINX, deployguide, expect, set_model, sphinx_build

#: Every secret of these tests: none may appear in any output.
SECRETS = ("hunter2", "tok-env", "pw-config", "tok-config", "pw-log", "tok-log")


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shown in:\n{text}"


def _credentialed_world(world) -> None:
    """An environment URL and a config value (shown by the staging checklist) with userinfo
    and a token in the query string."""
    set_model(
        world,
        'url = "https://staging.demo.invalid"',
        'url = "https://ops:hunter2@staging.demo.invalid/?access_token=tok-env"',
    )
    values = Path(world.deploy) / "config" / "staging.yaml"
    values.write_text(
        values.read_text().replace(
            "hub_url: https://hub.staging.demo.invalid",
            "hub_url: https://bot:pw-config@hub.staging.demo.invalid/?token=tok-config",
        )
    )
    page = Path(world.deploy) / DOCS / "staging.md"
    role = "{deploy-config}`config/staging.yaml#binderhub.config.BinderHub.hub_url`"
    page.write_text(page.read_text().replace(" replicas.\n", f" replicas behind {role}.\n", 1))


def test_facts_show_an_environment_url_without_its_credentials(hworld):
    _credentialed_world(hworld)
    text = deployguide("facts", "environments.staging", cwd=hworld.deploy)
    expect(text, 0, "https://***@staging.demo.invalid/?access_token=***")
    _assert_no_secret(text.text)
    data = deployguide("facts", "--json", cwd=hworld.deploy)
    expect(data, 0)
    shown = json.loads(data.out)["facts"]["environments.staging.url"]["value"]
    assert shown == "https://***@staging.demo.invalid/?access_token=***"
    _assert_no_secret(data.text)


def test_the_checklist_shows_config_values_and_urls_without_credentials(hworld):
    _credentialed_world(hworld)
    for form in ("github", "text", "json"):
        result = deployguide("checklist", "staging", "--format", form, cwd=hworld.deploy)
        expect(result, 0, "hub.staging.demo.invalid", "staging.demo.invalid", within=SPHINX)
        _assert_no_secret(result.text)


def test_the_site_shows_config_values_and_urls_without_credentials(hworld, tmp_path):
    _credentialed_world(hworld)
    out = tmp_path / "html"
    result = sphinx_build("-b", "html", "-q", DOCS, str(out), cwd=hworld.deploy)
    expect(result, 0, within=SPHINX)
    page = (out / "staging.html").read_text(encoding="utf-8")
    assert "hub.staging.demo.invalid/?token=***" in page
    for path in out.rglob("*"):
        if path.is_file():
            _assert_no_secret(path.read_bytes().decode("utf-8", "replace"))


def test_diagnose_never_echoes_credentials_from_the_log(hworld, tmp_path):
    log = tmp_path / "deploy.log"
    url = "https://ci:pw-log@charts.demo.invalid/helm-chart/?access_token=tok-log"
    log.write_text(
        '2024-03-26T16:02:02Z Error: chart "binderhub" version '
        f'"{hworld.current_version}x" not found in {url} repository\n'
        f"2024-03-26T16:02:03Z Error: looks like {url} is not a valid chart repository or "
        "cannot be reached: Get: dial tcp: lookup charts.demo.invalid: no such host\n"
    )
    text = deployguide("diagnose", str(log), cwd=hworld.deploy)
    assert "matched lines:" in text.out and "evidence:" in text.out, text.text
    assert "https://***@charts.demo.invalid/helm-chart/?access_token=***" in text.out
    _assert_no_secret(text.text)
    data = deployguide("diagnose", "--json", str(log), cwd=hworld.deploy)
    finding = json.loads(data.out)["findings"][0]
    assert finding["lines"] and finding["evidence"] and finding["summary"]
    _assert_no_secret(data.text)


def test_lint_never_shows_credentials_a_finding_quotes(hworld):
    _credentialed_world(hworld)
    page = Path(hworld.deploy) / DOCS / "staging.md"
    claim = (
        "\n```{deploy-claim}\n:file: config/staging.yaml\n:contains: hub_url: https://hub.\n\n"
        "The hub answers at its plain host.\n```\n"
    )
    page.write_text(page.read_text() + claim)
    for form in ("text", "json", "github"):
        result = deployguide("lint", DOCS, "--format", form, cwd=hworld.deploy)
        expect(result, 1, "hub.staging.demo.invalid", within=SPHINX)
        _assert_no_secret(result.text)
