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


@pytest.mark.skipif(not REAL_INDEX.is_file(), reason=f"real index not available at {REAL_INDEX}")
def test_the_real_index_streams_to_what_yaml_load_gives() -> None:
    data = REAL_INDEX.read_bytes()
    assert load_document(data) == whole(data, None)
    assert load_document(data, {"binderhub"}) == whole(data, {"binderhub"})
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
    assert outcome(load_document, text.encode(), charts) == outcome(whole, text.encode(), charts)


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
    assert outcome(load_document, data, charts) == outcome(whole, data, charts)


def test_errors_in_charts_not_read_are_not_reported() -> None:
    body = b"entries:\n  a:\n  - {version: '1', created: '2024-08-08T18:05:34Z'}\n  b: [oops]\n"
    with pytest.raises(ChartIndexError, match="entries.b"):
        parse_index(body, "index.yaml")
    assert list(parse_index(body, "index.yaml", charts={"a"})) == ["a"]
