"""pinedit: only the version string of a pin changes, every other byte is kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sphinx_deployguide import pinedit
from sphinx_deployguide.errors import DeployGuideError
from sphinx_deployguide.pinedit import (
    PinEditError,
    edit_pin_file,
    format_scalar,
    plan_pin_edit,
    read_pin,
    replace_pin,
)

KEY = "dependencies[name=binderhub].version"

# mybinder.org-deploy's mybinder/Chart.yaml as it looks today (abridged), with the quirks a
# formatter would destroy: comments at every level, quoted and unquoted versions, a flow list.
MYBINDER_CHART_YAML = """\
# This is the Helm chart that deploys mybinder.org and its federation members.
apiVersion: v2
name: mybinder
version: 0.0.1-set.by.chartpress  # set by chartpress
description: mybinder.org and its federation
dependencies:
  # BinderHub: bumped by the daily watch-dependencies workflow
  - name: binderhub
    version: "1.0.0-0.dev.git.3983.h383374de"
    repository: https://jupyterhub.github.io/helm-chart
  # Ingress
  - name: ingress-nginx
    version: "4.11.3"
    repository: https://kubernetes.github.io/ingress-nginx
  - name: prometheus
    version: 25.27.0   # plain, not quoted
    repository: https://prometheus-community.github.io/helm-charts
    condition: prometheus.enabled
  - name: grafana
    version: '8.5.2'
    repository: https://grafana.github.io/helm-charts
    tags: [monitoring, dashboards]

# trailing comment
"""
OLD = "1.0.0-0.dev.git.3983.h383374de"
NEW = "1.0.0-0.dev.git.3991.h1a2b3c4d"


def test_mybinder_layout_changes_only_the_version(tmp_path: Path) -> None:
    pin = tmp_path / "Chart.yaml"
    pin.write_bytes(MYBINDER_CHART_YAML.encode())
    edit = edit_pin_file(pin, KEY, NEW)
    assert (edit.old, edit.new, edit.line) == (OLD, NEW, 9)
    expected = MYBINDER_CHART_YAML.replace(f'version: "{OLD}"', f'version: "{NEW}"').encode()
    assert pin.read_bytes() == expected
    assert pin.read_bytes() != MYBINDER_CHART_YAML.encode()
    # and the data is the old data with only the pin changed
    old_data = yaml.safe_load(MYBINDER_CHART_YAML)
    old_data["dependencies"][0]["version"] = NEW
    assert yaml.safe_load(pin.read_bytes()) == old_data


@pytest.mark.parametrize(
    ("key", "old", "new", "before", "after"),
    [
        (
            "dependencies[name=ingress-nginx].version",
            "4.11.3",
            "4.12.0",
            'version: "4.11.3"',
            'version: "4.12.0"',
        ),
        (
            "dependencies[name=prometheus].version",
            "25.27.0",
            "26.0.1",
            "version: 25.27.0   #",
            "version: 26.0.1   #",
        ),
        (
            "dependencies[name=grafana].version",
            "8.5.2",
            "8.6.0",
            "version: '8.5.2'",
            "version: '8.6.0'",
        ),
        ("dependencies[1].version", "4.11.3", "4.12.0", 'version: "4.11.3"', 'version: "4.12.0"'),
        (
            "version",
            "0.0.1-set.by.chartpress",
            "0.0.2",
            "version: 0.0.1-set.by.chartpress  #",
            "version: 0.0.2  #",
        ),
    ],
)
def test_other_pins_and_plain_key_paths(
    key: str, old: str, new: str, before: str, after: str
) -> None:
    data, loc = replace_pin(MYBINDER_CHART_YAML.encode(), key, new, file="Chart.yaml")
    assert loc.value == old
    assert MYBINDER_CHART_YAML.count(before) == 1
    assert data == MYBINDER_CHART_YAML.replace(before, after).encode()


def test_crlf_bom_and_no_trailing_newline_are_kept() -> None:
    text = MYBINDER_CHART_YAML.rstrip("\n").replace("\n", "\r\n")
    raw = b"\xef\xbb\xbf" + text.encode()
    data, _ = replace_pin(raw, KEY, NEW, file="Chart.yaml")
    assert data == b"\xef\xbb\xbf" + text.replace(OLD, NEW).encode()
    assert (
        data.endswith(b"# trailing comment")
        and b"\r\n" in data
        and b"\n" not in data.replace(b"\r\n", b"")
    )


def test_flow_style_and_nested_plain_paths() -> None:
    text = (
        'deps: [{name: a, version: 1.0.0}, {name: b, version: "2.0.0"}]\n'
        "x:\n  y:\n    - z: old  # c\n"
    )
    data, _ = replace_pin(text.encode(), "deps[name=a].version", "1.1.0", file="f.yaml")
    assert data == text.replace("version: 1.0.0", "version: 1.1.0").encode()
    data, _ = replace_pin(text.encode(), "x.y[0].z", "new-1", file="f.yaml")
    assert data == text.replace("z: old", "z: new-1").encode()
    data, _ = replace_pin(text.encode(), "x.y[-1].z", "v2", file="f.yaml")
    assert data == text.replace("z: old", "z: v2").encode()


def test_a_plain_value_that_would_not_stay_a_string_gets_quoted() -> None:
    text = "chart:\n  version: abc  # keep\n"
    for value, written in [
        ("1.10", '"1.10"'),
        ("yes", '"yes"'),
        ("null", '"null"'),
        ("a: b", '"a: b"'),
        ("#x", '"#x"'),
        ("1.0.0-0.dev.git.1.habc", None),
    ]:
        data, _ = replace_pin(text.encode(), "chart.version", value, file="f.yaml")
        assert data == text.replace("abc", written or value).encode()
        assert yaml.safe_load(data)["chart"]["version"] == value


def test_quote_styles_escape_what_they_must() -> None:
    assert format_scalar("it's", "'") == "'it''s'"
    assert format_scalar('a"b\\c', '"') == '"a\\"b\\\\c"'
    assert format_scalar("tab\there", "'") == '"tab\\u0009here"'
    for value in ("it's", 'a"b\\c', "tab\there", "é-1.0"):
        for style in ("'", '"', None):
            assert yaml.safe_load("k: " + format_scalar(value, style))["k"] == value


def test_explicit_str_tag_is_kept() -> None:
    text = "a:\n  version: !!str 1.2\n"
    data, loc = replace_pin(text.encode(), "a.version", "1.3.0", file="f.yaml")
    assert loc.value == "1.2"
    assert data == b"a:\n  version: !!str 1.3.0\n"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("a: 1\n", "b", "key 'b' not found"),
        ("a:\n  b: 1\n", "a.c", "key 'c' not found in 'a'"),
        ("deps:\n  - name: x\n    version: 1\n", "deps[name=y].version", "no item with name=y"),
        ("deps:\n  - name: x\n  - name: x\n", "deps[name=x].version", "2 items with name=x"),
        ("a: [1, 2]\n", "a", "expected a version string, found a list"),
        ("a: {b: 1}\n", "a", "found a mapping"),
        ("a: 1\n", "a.b", "expected a mapping with key 'b'"),
        ("a: [1]\n", "a[3]", "out of range"),
        ("base: &v 1.0.0\npin: *v\n", "pin", "alias (*v)"),
        ("base: &v 1.0.0\npin: *v\n", "base", "anchor (&v)"),
        ("d: &d {version: 1}\ne: *d\n", "e.version", "alias (*d)"),
        ("a: |\n  1.0\n", "a", "block scalar"),
        ('a: "1.0\n  .1"\n', "a", "several lines"),
        ("a:\n", "a", "no value"),
        ("a: 1\n---\nb: 2\n", "a", "several YAML documents"),
        ("", "a", "no YAML document"),
        ("a: [1\n", "a", "cannot parse YAML"),
        ("a: 1\na: 2\n", "a", "appears 2 times"),
        ("a: 1\n", "a[", "invalid key path"),
        ("<<: {v: 1}\n", "v", "merge keys"),
    ],
)
def test_errors_name_file_and_key(text: str, key: str, expected: str) -> None:
    with pytest.raises(PinEditError) as info:
        replace_pin(text.encode(), key, "2.0.0", file="deploy/pins.yaml")
    message = str(info.value)
    assert expected in message
    assert message.startswith("deploy/pins.yaml")
    assert isinstance(info.value, DeployGuideError) and info.value.exit_code == 2
    if "YAML" not in expected:
        assert key in message


def test_yaml_error_has_the_line() -> None:
    with pytest.raises(PinEditError) as info:
        replace_pin(b"a: 1\nb: [1\nc: 2\n", "a", "x", file="f.yaml")
    assert info.value.line is not None and info.value.line >= 2


def test_not_utf8_is_an_error() -> None:
    with pytest.raises(PinEditError, match="not UTF-8"):
        replace_pin(b"a: \xff\n", "a", "x", file="f.yaml")


def test_read_pin_and_missing_file(tmp_path: Path) -> None:
    pin = tmp_path / "Chart.yaml"
    pin.write_text(MYBINDER_CHART_YAML)
    assert read_pin(pin, KEY).value == OLD
    with pytest.raises(PinEditError, match="pin file not found"):
        read_pin(tmp_path / "missing.yaml", KEY)


def test_same_value_writes_nothing(tmp_path: Path) -> None:
    pin = tmp_path / "Chart.yaml"
    pin.write_text(MYBINDER_CHART_YAML)
    os.utime(pin, (1_000_000, 1_000_000))
    edit = edit_pin_file(pin, KEY, OLD)
    assert edit.before == edit.after
    assert pin.stat().st_mtime == 1_000_000


def test_mode_is_kept_and_symlink_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(MYBINDER_CHART_YAML)
    real.chmod(0o640)
    link = tmp_path / "Chart.yaml"
    link.symlink_to(real)
    edit_pin_file(link, KEY, NEW)
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert real.read_text() == MYBINDER_CHART_YAML.replace(OLD, NEW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Chart.yaml", "real.yaml"]


def test_failing_rename_leaves_the_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin = tmp_path / "Chart.yaml"
    pin.write_bytes(MYBINDER_CHART_YAML.encode())

    def broken_replace(src: str, dst: str) -> None:
        # the temp file is complete when the rename is attempted
        assert Path(src).read_bytes() == MYBINDER_CHART_YAML.replace(OLD, NEW).encode()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pinedit.os, "replace", broken_replace)
    with pytest.raises(PinEditError, match="cannot write the pin file .left unchanged.") as info:
        edit_pin_file(pin, KEY, NEW)
    assert info.value.file == str(pin)
    assert pin.read_bytes() == MYBINDER_CHART_YAML.encode()
    assert [p.name for p in tmp_path.iterdir()] == ["Chart.yaml"]  # no temp file left


def test_file_changed_between_plan_and_write_is_refused(tmp_path: Path) -> None:
    pin = tmp_path / "Chart.yaml"
    pin.write_text(MYBINDER_CHART_YAML)
    edit = plan_pin_edit(pin, KEY, NEW)
    pin.write_text(MYBINDER_CHART_YAML + "# edited meanwhile\n")
    with pytest.raises(PinEditError, match="changed while"):
        pinedit.apply_pin_edit(pin, edit)
    assert pin.read_text() == MYBINDER_CHART_YAML + "# edited meanwhile\n"


# --- property: arbitrary layouts round-trip ----------------------------------------------

versions = st.builds(
    lambda base, n, sha: f"{base}-0.dev.git.{n}.h{sha}",
    st.sampled_from(["0.2.0", "1.0.0", "2.1.3"]),
    st.integers(0, 99999),
    st.text("0123456789abcdef", min_size=7, max_size=12),
) | st.builds(lambda sha: f"0.1.0-{sha}", st.text("0123456789abcdef", min_size=7, max_size=8))

comments = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20),
    max_size=3,
)


@st.composite
def layouts(draw: st.DrawFn) -> tuple:
    return (
        draw(st.sampled_from([None, "'", '"'])),  # quote style of the pin
        draw(st.sampled_from([2, 4])),  # indentation
        draw(st.sampled_from(["\n", "\r\n"])),
        draw(st.booleans()),  # trailing newline
        draw(comments),  # comment lines before the pin
        draw(st.one_of(st.none(), st.text("abc -#", min_size=1, max_size=10))),  # inline comment
        draw(st.booleans()),  # flow style item
        draw(st.integers(0, 3)),  # other dependencies before
        draw(st.booleans()),  # version key before or after name
    )


def render(layout: tuple, version: str) -> bytes:
    style, indent, nl, trailing, pre, inline, flow, before, version_first = layout
    quote = style or ""
    pad = " " * indent
    lines = ["# generated", "apiVersion: v2", "dependencies:"]
    for i in range(before):
        lines += [f"{pad}- name: other{i}", f'{pad}  version: "{i}.0.0"']
    lines += [f"{pad}# {c}".rstrip() for c in pre]
    value = f"{quote}{version}{quote}"
    tail = f"  # {inline}" if inline is not None else ""
    if flow:
        lines.append(f"{pad}- {{name: binderhub, version: {value}}}{tail}")
    elif version_first:
        lines += [f"{pad}- version: {value}{tail}", f"{pad}  name: binderhub"]
    else:
        lines += [f"{pad}- name: binderhub", f"{pad}  version: {value}{tail}"]
    lines += [f"{pad}- name: last", f"{pad}  version: '9'"]
    return (nl.join(lines) + (nl if trailing else "")).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(), versions, versions)
def test_any_layout_round_trips(layout: tuple, old: str, new: str) -> None:
    before = render(layout, old)
    after, loc = replace_pin(before, KEY, new, file="Chart.yaml")
    assert loc.value == old
    assert after == render(layout, new)
    back, _ = replace_pin(after, KEY, old, file="Chart.yaml")
    assert back == before
