from __future__ import annotations

import json
from pathlib import Path

import pytest

from sphinx_deployguide.keypath import (
    Index,
    Key,
    Match,
    format_key_path,
    load_data_file,
    parse_key_path,
    resolve_key_path,
)

CHART = {
    "dependencies": [
        {"name": "binderhub", "version": "1.0.0-0.dev.git.12.habc1234"},
        {"name": "ingress-nginx", "version": "4.11.3"},
    ],
    "a.b": {"c": [10, 20]},
}


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("version", (Key("version"),)),
        (
            "dependencies[name=binderhub].version",
            (Key("dependencies"), Match("name", "binderhub"), Key("version")),
        ),
        (
            "jobs.staging-deploy.steps[0].run",
            (Key("jobs"), Key("staging-deploy"), Key("steps"), Index(0), Key("run")),
        ),
        ('["a.b"].c[-1]', (Key("a.b"), Key("c"), Index(-1))),
    ],
)
def test_parse_round_trips(text: str, segments: tuple) -> None:
    assert parse_key_path(text) == segments
    assert parse_key_path(format_key_path(segments)) == segments


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a.", "a[", "a[x", "a]b", "a[0]b"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_key_path(text)


def test_resolve() -> None:
    assert (
        resolve_key_path(CHART, parse_key_path("dependencies[name=binderhub].version"))
        == "1.0.0-0.dev.git.12.habc1234"
    )
    assert resolve_key_path(CHART, parse_key_path('["a.b"].c[1]')) == 20


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("dependencies[name=nope].version", "no item with name = 'nope' under dependencies"),
        ("dependencies[7]", "index 7 is out of range under dependencies (2 items)"),
        ("missing", "no key 'missing' under the top level"),
        ("dependencies.version", "dependencies is a list, not a mapping"),
    ],
)
def test_resolve_errors_name_the_segment(path: str, message: str) -> None:
    with pytest.raises(
        LookupError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        resolve_key_path(CHART, parse_key_path(path))


def test_load_data_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x:\n  y: [1, 2]\n")
    (tmp_path / "a.json").write_text(json.dumps({"x": {"y": [1, 2]}}))
    (tmp_path / "a.toml").write_text("[x]\ny = [1, 2]\n")
    for name in ("a.yaml", "a.json", "a.toml"):
        assert load_data_file(tmp_path / name) == {"x": {"y": [1, 2]}}


def test_load_data_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [\n")
    with pytest.raises(ValueError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_data_file(bad)
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_data_file(unsafe)
    other = tmp_path / "a.ini"
    other.write_text("")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_data_file(other)
