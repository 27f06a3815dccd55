"""Reading only some charts of an index from the parser's events gives exactly what loading
the whole document and keeping those charts gives: the same values, the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sphinx_deployguide.chartindex import index_loader, load_document, parse_index
from sphinx_deployguide.errors import ChartIndexError

REAL_INDEX = Path(__file__).resolve().parents[2] / "shared" / "data" / "jupyterhub-helm-index.yaml"


def whole(data: bytes | str, charts: set[str] | None) -> object:
    """The reference: ``yaml.load`` of everything, then the charts kept."""
    doc = yaml.load(data, Loader=index_loader())  # noqa: S506 - a safe loader
    if charts is not None and isinstance(doc, dict) and isinstance(doc.get("entries"), dict):
        doc["entries"] = {k: v for k, v in doc["entries"].items() if str(k) in charts}
    return doc


def outcome(load, *args):  # type: ignore[no-untyped-def]
    try:
        return ("value", load(*args))
    except Exception as exc:  # noqa: BLE001 - the comparison is the point
        return ("error", type(exc).__name__, str(exc))


def same_entries(data: bytes, charts: set[str] | None) -> None:
    """What is read of ``entries`` (or the error) is what loading everything gives; other
    top-level keys may be left unread once the wanted charts are built."""
    ours, theirs = outcome(load_document, data, charts), outcome(whole, data, charts)
    if ours[0] == theirs[0] == "value" and isinstance(theirs[1], dict) and "entries" in theirs[1]:
        assert isinstance(ours[1], dict)
        assert ours[1]["entries"] == theirs[1]["entries"]
        assert {k: v for k, v in ours[1].items() if k != "entries"}.items() <= theirs[1].items()
    else:
        assert ours == theirs


@pytest.mark.skipif(not REAL_INDEX.is_file(), reason=f"real index not available at {REAL_INDEX}")
def test_the_real_index_streams_to_what_yaml_load_gives() -> None:
    """Its charts are written one after another and it holds nothing that could change them
    later, so the walk stops after binderhub (top-level keys after ``entries``, like
    ``generated``, are not read then)."""
    data = REAL_INDEX.read_bytes()
    assert load_document(data) == whole(data, None)
    for charts in ({"binderhub"}, {"pebble"}, {"binderhub", "jupyterhub"}, {"binderhub", "gone"}):
        assert load_document(data, charts)["entries"] == whole(data, charts)["entries"], charts
    assert "generated" not in load_document(data, {"binderhub"})  # it stopped early
    binderhub = parse_index(data, "index.yaml", charts={"binderhub"})
    assert binderhub == {"binderhub": parse_index(data, "index.yaml")["binderhub"]}


@pytest.mark.parametrize(
    "text",
    [
        "",  # an empty stream
        "---\n...\n",  # an empty document
        "- a\n- b\n",
        "null\n",
        "just text\n",
        "entries: {}\n",
        "entries: ~\n",
        "entries: [a]\n",
        "entries: {a: [1], b: [2], a: [3]}\n",  # a repeated chart: the last one, first place
        "entries: {b: x}\nentries: {a: [{version: '1'}]}\n",  # a repeated key: the last one
        "entries: {a: [{version: 1.10, created: ~, digest: ''}], ~: [x], 'null': [y]}\n",
        "entries: {a: [{version: Null, created: NULL, digest: null, x: 'NULL', y: nulls}]}\n",
        "entries:\n  a: [x]\n  b: !!str tagged\n",  # a tag where it is not read
        "entries:\n  a: [x]\n  b: !!python/object/apply:os.system [echo]\n",  # refused
        "entries:\n  a: [x]\n  b: [{k: [1, !!python/name:os.system '']}]\n",  # refused, deep down
        "entries:\n  a: [x]\n  b: [{k: [1, &x 2, *x]}]\n",
        "entries:\n  a: [x]\n  b: &anchor [1]\n  c: *anchor\n",
        "entries:\n  a: [x]\n  b: *nowhere\n",  # an undefined alias: refused
        "entries:\n  a: [x]\n  b: {? [complex, key] : v}\n",  # an unhashable key: refused
        "entries:\n  a: [x]\n  ? [c] : [y]\n",
        "entries: {a: [x]}\n---\nsecond: document\n",  # refused
        "entries:\n  a: [x]\n  b: [" + "[" * 80 + "]" * 80 + "]\n",  # deep, where not read
        "entries:\n  a: [{version: '1'}\n",  # not valid YAML
        "entries:\n  a: [x]\n  b: 'unterminated\n",
    ],
)
@pytest.mark.parametrize("charts", [None, {"a"}, {"b", "None"}])
def test_documents_that_are_not_plain_indexes(text: str, charts: set[str] | None) -> None:
    same_entries(text.encode(), charts)


scalars = st.one_of(
    st.sampled_from(
        ["~", "null", "Null", "NULL", "", "1.10", "yes", "0x1F", "2024-08-08T18:05:34Z"]
    ),
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
charts_ = st.dictionaries(
    st.sampled_from(["a", "b", "c", "null", "1"]),
    st.one_of(
        st.lists(
            st.dictionaries(
                st.sampled_from(["version", "created", "digest", "x"]), values, max_size=4
            ),
            max_size=3,
        ),
        values,
    ),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {"apiVersion": scalars, "entries": charts_}, optional={"generated": values}
    ),
    st.sampled_from([None, {"a"}, {"b", "null"}, set()]),
    st.booleans(),
    st.booleans(),
)
def test_generated_indexes(document, charts, flow, shared) -> None:
    """Any index-shaped document, in block or flow style, with an anchored value or not."""
    if shared and isinstance(document["entries"], dict) and document["entries"]:
        first = next(iter(document["entries"]))
        document["extra"] = document["entries"][first]  # dumped as an anchor and an alias
    data = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True).encode()
    same_entries(data, charts)


plain_scalars = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters="{}[]!&*?#'\"\\:\n"), max_size=10
)
helm_entries = st.lists(
    st.fixed_dictionaries(
        {"version": plain_scalars, "created": plain_scalars, "digest": plain_scalars},
        optional={"urls": st.lists(plain_scalars, min_size=1, max_size=2)},
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), helm_entries, min_size=1),
    st.sampled_from([{"a"}, {"b", "c"}, {"a", "d"}]),
    st.sampled_from([None, "a", "c"]),
)
def test_helm_shaped_indexes_stop_early_and_agree(entries, charts, repeated) -> None:
    """Written as Helm writes an index (block style, plain values): the walk may stop once
    the wanted charts are built, and what it read is what loading everything gives, also
    when a chart's key is written twice (the last one counts)."""
    body = yaml.safe_dump({"entries": entries}, default_flow_style=False)
    if repeated and repeated in entries:
        body += (
            yaml.safe_dump({repeated: entries[repeated][:1]}, default_flow_style=False)
            .replace(f"{repeated}:", f"  {repeated}:", 1)
            .replace("\n-", "\n  -")
        )
    data = ("apiVersion: v1\n" + body + "generated: now\n").encode()
    same_entries(data, charts)


def test_errors_in_charts_not_read_are_not_reported() -> None:
    body = b"entries:\n  a:\n  - {version: '1', created: '2024-08-08T18:05:34Z'}\n  b: [oops]\n"
    with pytest.raises(ChartIndexError, match="entries.b"):
        parse_index(body, "index.yaml")
    assert list(parse_index(body, "index.yaml", charts={"a"})) == ["a"]


def test_the_wanted_entries_are_handed_over_before_the_rest_is_checked() -> None:
    """``on_entries`` gets the wanted charts' entries as soon as they are read, before the
    rest of the document is checked; what is returned is that same reading, and an error
    further down is still the error (reported as before)."""
    head = (
        "apiVersion: v1\nentries:\n  wanted:\n  - version: 1.0.0\n"
        "    created: 2024-01-01T00:00:00Z\n    digest: abc\n"
        "    urls: [https://example.org/wanted-1.0.0.tgz]\n"
    )
    good = (head + "  other:\n  - version: 2.0.0\n    created: 2024-01-02T00:00:00Z\n").encode()
    seen: list[object] = []
    entries = parse_index(good, "index.yaml", charts={"wanted"}, on_entries=seen.append)
    assert seen == [entries] and seen[0] is entries
    assert entries == parse_index(good, "index.yaml", charts={"wanted"})

    broken = (head + "  other:\n  - version: [2.0.0\n").encode()  # an unclosed flow sequence
    seen.clear()
    with pytest.raises(ChartIndexError, match="not valid YAML") as raised:
        parse_index(broken, "index.yaml", charts={"wanted"}, on_entries=seen.append)
    assert seen == [entries]
    with pytest.raises(ChartIndexError) as again:
        parse_index(broken, "index.yaml", charts={"wanted"})
    assert str(raised.value) == str(again.value)
