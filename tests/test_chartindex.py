"""The chart index: parsing, the JSON cache, and HTTP against a real server on 127.0.0.1.

Retries and backoff are kept tiny through parameters; no assertion depends on timing.
"""

from __future__ import annotations

import gzip
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from sphinx_deployguide.chartindex import (
    IndexEntry,
    IndexSnapshot,
    archive_url,
    parse_created,
    parse_index,
)
from sphinx_deployguide.errors import ChartIndexError, DeployGuideError, NetworkError
from sphinx_deployguide.indexcache import cache_path, load_index
from sphinx_deployguide.indexfetch import cache_max_age, probe_archive, retry_delay
from tests.indexserver import Fault, IndexServer, http_date, make_index_yaml

REAL_INDEX = Path(__file__).resolve().parents[2] / "shared" / "data" / "jupyterhub-helm-index.yaml"
needs_real_index = pytest.mark.skipif(
    not REAL_INDEX.is_file(), reason=f"real index not available at {REAL_INDEX}"
)
REAL_COUNTS = {"binderhub": 697, "jupyterhub": 1058, "pebble": 20}

V1 = ("1.0.0-0.dev.git.3506.hba24eb2a", "2024-08-08T18:05:34.413844784Z", "a" * 64)
V2 = ("1.0.0-0.dev.git.3510.h1234567", "2024-08-09T10:00:00.999999999Z", "b" * 64)
BODY = make_index_yaml({"binderhub": [V1], "jupyterhub": [("3.3.7", "2024-06-01T00:00:00Z")]})
BODY2 = make_index_yaml({"binderhub": [V2, V1], "jupyterhub": [("3.3.7", "2024-06-01T00:00:00Z")]})


def archive(version: tuple[str, ...], chart: str = "binderhub") -> str:
    """The archive URL make_index_yaml lists for a version."""
    return f"https://example.org/charts/{chart}-{version[0]}.tgz"


@pytest.fixture
def load(tmp_path):
    """load_index with a per-test cache, tiny retries/backoff and short timeouts."""

    def _load(source: str, **kwargs):
        options = dict(
            base_dir=tmp_path,
            cache_dir=tmp_path / "cache",
            ttl=0,
            retries=2,
            backoff=0.001,
            timeout=(2, 2),
            max_retry_after=0.01,
        )
        options.update(kwargs)
        return load_index(source, **options)

    return _load


def versions(snapshot, chart="binderhub") -> list[str]:
    return [entry.version for entry in snapshot.entries[chart]]


# --------------------------------------------------------------------------- parse_created


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-08-08T18:05:34.413844784Z", datetime(2024, 8, 8, 18, 5, 34, 413844, timezone.utc)),
        # truncated, never rounded (rounding would carry into the next second)
        ("2024-08-08T18:05:34.999999999Z", datetime(2024, 8, 8, 18, 5, 34, 999999, timezone.utc)),
        ("2024-08-08T18:05:34Z", datetime(2024, 8, 8, 18, 5, 34, 0, timezone.utc)),
        ("2024-08-08T18:05:34.5z", datetime(2024, 8, 8, 18, 5, 34, 500000, timezone.utc)),
        ("2024-08-08T20:05:34.123+02:00", datetime(2024, 8, 8, 18, 5, 34, 123000, timezone.utc)),
        ("2024-08-08T13:05:34-05:00", datetime(2024, 8, 8, 18, 5, 34, 0, timezone.utc)),
    ],
)
def test_parse_created(text, expected) -> None:
    value = parse_created(text)
    assert value == expected
    assert value.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-08",
        "2024-08-08T18:05:34",  # no time zone
        "yesterday",
        "2024-13-08T18:05:34Z",
        "",
        "2024-08-08T18:05:34+25:00",
    ],
)
def test_parse_created_rejects(text) -> None:
    with pytest.raises(ValueError, match="timestamp|month|offset"):
        parse_created(text)


# --------------------------------------------------------------------------- parse_index


def test_parse_index_keeps_order_and_fields() -> None:
    entries = parse_index(BODY2, "mem://x")
    assert list(entries) == ["binderhub", "jupyterhub"]
    assert entries["binderhub"] == (
        IndexEntry(
            V2[0], datetime(2024, 8, 9, 10, 0, 0, 999999, timezone.utc), V2[2], (archive(V2),)
        ),
        IndexEntry(
            V1[0], datetime(2024, 8, 8, 18, 5, 34, 413844, timezone.utc), V1[2], (archive(V1),)
        ),
    )


def test_unquoted_scalars_stay_strings() -> None:
    """Helm reads versions into strings: an unquoted 1.10 is "1.10", not the float 1.1."""
    body = (
        b"apiVersion: v1\nentries:\n  c:\n"
        b"  - version: 1.10\n    created: 2024-08-08T18:05:34.413844784Z\n"
    )
    (entry,) = parse_index(body, "mem://x")["c"]
    assert entry.version == "1.10"
    assert entry.created == datetime(2024, 8, 8, 18, 5, 34, 413844, timezone.utc)
    assert entry.digest is None


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        (b"apiVersion: v1\nentries: [a, b]\n", "entries", "mapping of chart name"),
        (b"apiVersion: v1\nentries:\n  c: {version: 1}\n", "entries.c", "list of chart versions"),
        (b"apiVersion: v1\nentries:\n  c: [just-a-string]\n", "entries.c[0]", "mapping"),
        (
            b"apiVersion: v1\nentries:\n  c:\n  - created: '2024-08-08T18:05:34Z'\n",
            "entries.c[0].version",
            "non-empty string",
        ),
        (
            b"apiVersion: v1\nentries:\n  c:\n  - {version: '1.0', created: soon}\n",
            "entries.c[0].created",
            "RFC 3339",
        ),
        (
            b"apiVersion: v1\nentries:\n  c:\n  - {version: '1.0'}\n",
            "entries.c[0].created",
            "got nothing",
        ),
        (
            b"apiVersion: v1\nentries:\n  c:\n"
            b"  - {version: '1.0', created: '2024-08-08T18:05:34Z', digest: [1]}\n",
            "entries.c[0].digest",
            "string",
        ),
    ],
)
def test_wrong_structure_names_the_key(body, key, words) -> None:
    with pytest.raises(ChartIndexError) as info:
        parse_index(body, "http://example.org/index.yaml")
    assert info.value.key == key
    assert words in info.value.message
    assert str(info.value).startswith(f"http://example.org/index.yaml: {key}: ")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "got an empty document"),
        (b"- a\n- b\n", "got a list"),
        (b"apiVersion: v1\ngenerated: x\n", "'entries' is missing"),
        (b"apiVersion: v1\nentries:\n  c: [\n", "not valid YAML"),
        (b"entries: \xc3\x28\n", "not valid YAML: .*UTF-8"),  # not UTF-8
    ],
)
def test_not_an_index(body, words) -> None:
    with pytest.raises(ChartIndexError, match=words):
        parse_index(body, "index.yaml")


def test_malformed_yaml_names_the_line() -> None:
    body = b"apiVersion: v1\nentries:\n  c:\n  - version: '1'\n   bad: indent: here\n"
    with pytest.raises(ChartIndexError) as info:
        parse_index(body, "index.yaml")
    assert info.value.line == 5
    assert str(info.value).startswith("index.yaml:5: the chart index is not valid YAML")


def test_only_safe_yaml() -> None:
    body = b"apiVersion: v1\nentries: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(ChartIndexError, match="not valid YAML"):
        parse_index(body, "index.yaml")


def test_empty_entries_mapping_is_a_valid_empty_index() -> None:
    assert parse_index(b"apiVersion: v1\nentries: {}\n", "index.yaml") == {}


def test_find_returns_the_first_entry_of_a_republished_version() -> None:
    body = make_index_yaml(
        {"c": [("1.0", "2024-01-01T00:00:00Z", "d1"), ("1.0", "2024-02-01T00:00:00Z", "d2")]}
    )
    snap = IndexSnapshot("x", None, datetime.now(timezone.utc), "live", parse_index(body, "x"))
    assert snap.find("c", "1.0").digest == "d1"
    assert snap.find("c", "2.0") is None
    assert snap.find("other", "1.0") is None


# --------------------------------------------------------------------------- retry policy


def test_retry_delay() -> None:
    assert [retry_delay(n, 0.5) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert retry_delay(0, 0.5, "3") == 3.0
    assert retry_delay(0, 0.5, "3600") == 30.0  # capped: a server cannot stall a build for an hour
    assert retry_delay(0, 0.5, "3600", max_retry_after=5) == 5
    assert retry_delay(2, 0.5, "soon") == 2.0  # unparseable: plain backoff
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert retry_delay(0, 0.5, http_date(now + timedelta(seconds=7)), now=now) == 7.0
    assert retry_delay(0, 0.5, http_date(now - timedelta(seconds=7)), now=now) == 0.0


# --------------------------------------------------------------------------- HTTP


def test_200_is_live_and_cached_as_compact_json(index_server, load, tmp_path) -> None:
    index_server.set_body(BODY)
    snap = load(index_server.url)
    assert snap.status == "live" and snap.error is None
    assert snap.source == index_server.url
    assert snap.validator == index_server.etag
    assert versions(snap) == [V1[0]]
    assert snap.find("binderhub", V1[0]).digest == V1[2]
    assert snap.find("jupyterhub", "3.3.7").created == datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert index_server.statuses() == [200]
    request = index_server.last_request
    assert "if-none-match" not in request.headers
    assert request.headers["user-agent"].startswith("sphinx-deployguide/")

    cache = cache_path(tmp_path / "cache", index_server.url)
    assert cache.parent == tmp_path / "cache" / "index"
    doc = json.loads(cache.read_text())
    assert doc["validator"] == index_server.etag
    assert doc["entries"]["binderhub"] == [
        [V1[0], "2024-08-08T18:05:34.413844+00:00", V1[2], [archive(V1)]]
    ]
    assert b"description" not in cache.read_bytes() and b" " not in cache.read_bytes()
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no temp files left


def test_within_ttl_no_request_is_made(index_server, load) -> None:
    index_server.set_body(BODY)
    first = load(index_server.url, ttl=3600)
    second = load(index_server.url, ttl=3600)
    assert index_server.request_count == 1
    assert (first.status, second.status) == ("live", "cached")
    assert second.entries == first.entries
    assert second.fetched_at == first.fetched_at
    third = load(index_server.url, ttl=3600, refresh=True)  # refresh re-checks
    assert index_server.request_count == 2 and third.status == "live"
    assert third.fetched_at > first.fetched_at


def test_304_with_etag_serves_the_cache_without_parsing(index_server, load) -> None:
    index_server.set_body(BODY, etag='"v1"')
    first = load(index_server.url)
    # Same ETag, body no longer YAML: only a client that trusts the 304 and its cache succeeds.
    index_server.set_body(b"{{{ not yaml", etag='"v1"')
    second = load(index_server.url)
    assert index_server.statuses() == [200, 304]
    assert index_server.last_request.headers["if-none-match"] == '"v1"'
    assert second.status == "live"
    assert second.validator == '"v1"'
    assert second.entries == first.entries
    assert second.fetched_at > first.fetched_at  # the 304 confirmed the data


def test_new_etag_is_fetched_and_parsed(index_server, load) -> None:
    index_server.set_body(BODY, etag='"v1"')
    load(index_server.url)
    index_server.set_body(BODY2, etag='"v2"')
    snap = load(index_server.url)
    assert index_server.statuses() == [200, 200]
    assert index_server.last_request.headers["if-none-match"] == '"v1"'
    assert snap.validator == '"v2"'
    assert versions(snap) == [V2[0], V1[0]]


def test_304_with_last_modified_only(index_server, load) -> None:
    stamp = http_date(datetime(2024, 10, 24, 11, 45, 31, tzinfo=timezone.utc))
    index_server.set_body(BODY, etag=None, last_modified=stamp)
    first = load(index_server.url)
    assert first.validator == stamp
    second = load(index_server.url)
    assert index_server.statuses() == [200, 304]
    headers = index_server.last_request.headers
    assert headers["if-modified-since"] == stamp and "if-none-match" not in headers
    assert second.status == "live" and second.entries == first.entries


def test_unchanged_body_without_validators_is_not_parsed_again(
    index_server, load, tmp_path
) -> None:
    index_server.set_body(BODY, etag=None)
    load(index_server.url)
    # Mark the cached data: if the second run parsed the body, the mark would be gone.
    cache = cache_path(tmp_path / "cache", index_server.url)
    doc = json.loads(cache.read_text())
    doc["entries"]["binderhub"][0][0] = "from-the-cache"
    cache.write_text(json.dumps(doc))
    snap = load(index_server.url)
    assert index_server.statuses() == [200, 200]
    assert versions(snap) == ["from-the-cache"]
    assert snap.validator.startswith("sha256:")


def test_body_swap_after_n_requests(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.swap_after(2, BODY2)
    seen = [versions(load(index_server.url)) for _ in range(3)]
    assert seen == [[V1[0]], [V1[0]], [V2[0], V1[0]]]
    assert index_server.statuses() == [200, 304, 200]


def test_500_then_success_is_retried(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.fail(500, 503)
    snap = load(index_server.url, retries=2)
    assert snap.status == "live" and versions(snap) == [V1[0]]
    assert index_server.statuses() == [500, 503, 200]


def test_429_retry_after_is_honoured(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.fail(Fault(status=429, headers={"Retry-After": "3600"}))
    snap = load(index_server.url, retries=1, max_retry_after=0.01)
    assert snap.status == "live"
    assert index_server.statuses() == [429, 200]


def test_retries_are_bounded(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.fail(*[500] * 10)
    with pytest.raises(NetworkError) as info:
        load(index_server.url, retries=2)
    assert index_server.statuses() == [500, 500, 500]
    message = str(info.value)
    assert index_server.url in message
    assert "HTTP 500" in message and "after 3 attempts" in message
    assert "no cached copy" in message


def test_404_is_not_retried_and_not_a_network_error(index_server, load) -> None:
    with pytest.raises(ChartIndexError) as info:
        load(index_server.base_url + "/nope.yaml", retries=3)
    assert not isinstance(info.value, NetworkError)
    assert "HTTP 404" in str(info.value) and "index` URL" in str(info.value)
    assert index_server.statuses() == [404]


def test_timeout(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.delay = 1.0
    with pytest.raises(NetworkError, match=r"read timeout \(0\.1 s\) \(after 2 attempts\)"):
        load(index_server.url, timeout=(2, 0.1), retries=1)
    assert index_server.request_count == 2


def test_slow_first_answer_then_success(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.fail(Fault(delay=1.0))
    snap = load(index_server.url, timeout=(2, 0.1), retries=1)
    assert snap.status == "live" and index_server.request_count == 2


def test_connection_reset_then_success(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.fail(Fault(reset=True))
    snap = load(index_server.url, retries=1)
    assert snap.status == "live"
    assert index_server.statuses() == [None, 200]


def test_on_request_hook_sees_every_request(index_server, load) -> None:
    seen: list[str] = []
    index_server.set_body(BODY)
    index_server.on_request = lambda server, request: seen.append(request.path)
    index_server.fail(500)
    load(index_server.url, retries=1)
    assert seen == ["/index.yaml", "/index.yaml"]


def test_truncated_body_is_an_error_not_an_empty_index(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.truncate = 40
    with pytest.raises(ChartIndexError) as info:
        load(index_server.url, retries=1)
    message = str(info.value)
    assert index_server.url in message
    expected = f"truncated body: Content-Length is {len(BODY)} bytes but the connection closed"
    assert f"{expected} after 40" in message
    assert index_server.request_count == 2  # a broken transfer is worth one more try


def test_a_body_truncated_after_whole_chunks_says_how_many_bytes_came(index_server, load) -> None:
    """The connection closes after 100,000 bytes of a larger body, more than one read's
    chunk: the message counts them once (urllib3 reports every byte read so far)."""
    filler = "# " + "x" * 98 + "\n"
    body = BODY + (filler * 2000).encode()
    index_server.set_body(body)
    index_server.truncate = 100_000
    with pytest.raises(ChartIndexError) as info:
        load(index_server.url, retries=0)
    assert (
        f"truncated body: Content-Length is {len(body)} bytes but the connection closed "
        "after 100000 (after 1 attempt)"
    ) in str(info.value)


def test_truncated_once_then_complete(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.fail(Fault(truncate=10))
    snap = load(index_server.url, retries=1)
    assert versions(snap) == [V1[0]]
    index_server.wait_idle(5)  # the handler marks "completed" after the client already has it all
    assert [r.completed for r in index_server.requests] == [False, True]


def test_malformed_yaml_over_http(index_server, load) -> None:
    index_server.set_body(b"apiVersion: v1\nentries:\n  binderhub: [\n")
    with pytest.raises(ChartIndexError) as info:
        load(index_server.url)
    assert not isinstance(info.value, NetworkError)
    assert str(info.value).startswith(index_server.url + ":")
    assert "not valid YAML" in str(info.value)
    assert index_server.request_count == 1  # a bad body is not retried


def test_wrong_structure_over_http(index_server, load) -> None:
    index_server.set_body(b"apiVersion: v1\nentries:\n- binderhub\n")
    with pytest.raises(ChartIndexError, match="entries: expected a mapping of chart name"):
        load(index_server.url)


def test_malformed_response_never_falls_back_to_the_cache(index_server, load) -> None:
    index_server.set_body(BODY)
    load(index_server.url)
    index_server.set_body(b"entries: [oops")
    with pytest.raises(ChartIndexError, match="not valid YAML"):
        load(index_server.url, offline="stale")


def test_oversized_declared_body_is_refused_from_the_header(index_server, load) -> None:
    index_server.stream_size = 50 * 2**20
    index_server.stream_declare_length = True
    words = r"52428800 bytes \(Content-Length\), over the limit of 100000"
    with pytest.raises(ChartIndexError, match=words):
        load(index_server.url, max_bytes=100_000)
    assert index_server.wait_idle()
    (request,) = index_server.requests
    assert not request.completed and request.bytes_sent < 50 * 2**20


def test_oversized_streamed_body_is_aborted(index_server, load) -> None:
    index_server.stream_size = 200 * 2**20  # no Content-Length: only counting can catch it
    words = "larger than the limit of 100000 bytes; download aborted"
    with pytest.raises(ChartIndexError, match=words):
        load(index_server.url, max_bytes=100_000)
    assert index_server.wait_idle()
    (request,) = index_server.requests
    assert not request.completed and request.bytes_sent < 200 * 2**20


def test_gzip_body_is_decoded(index_server, load) -> None:
    index_server.fail(
        Fault(status=200, headers={"Content-Encoding": "gzip"}, body=gzip.compress(BODY))
    )
    assert versions(load(index_server.url)) == [V1[0]]


def test_gzip_bomb_is_stopped_by_the_cap_on_decoded_bytes(index_server, load) -> None:
    bomb = gzip.compress(b"#" * (8 * 2**20))  # 8 MiB of YAML comment in ~8 kB
    index_server.fail(Fault(status=200, headers={"Content-Encoding": "gzip"}, body=bomb))
    with pytest.raises(ChartIndexError, match="larger than the limit of 1000000 bytes"):
        load(index_server.url, max_bytes=1_000_000)


def test_body_just_under_the_limit_is_accepted(index_server, load) -> None:
    index_server.set_body(BODY)
    assert load(index_server.url, max_bytes=len(BODY)).status == "live"
    index_server.set_body(BODY, etag='"other"')  # a new ETag: no 304, the body is sent
    with pytest.raises(ChartIndexError, match="over the limit"):
        load(index_server.url, max_bytes=len(BODY) - 1)


# --------------------------------------------------------------------------- offline policies


@pytest.fixture
def gone_url(load):
    """A URL whose server answered once (the cache is warm) and is now down."""
    with IndexServer(BODY) as server:
        load(server.url)
        url = server.url
    return url


def test_offline_stale_with_cache(gone_url, load) -> None:
    snap = load(gone_url, offline="stale")
    assert snap.status == "stale"
    assert "connection failed" in snap.error and "after 3 attempts" in snap.error
    assert versions(snap) == [V1[0]]
    assert snap.fetched_at < datetime.now(timezone.utc)


def test_offline_error_with_cache(gone_url, load) -> None:
    with pytest.raises(NetworkError) as info:
        load(gone_url, offline="error")
    message = str(info.value)
    assert gone_url in message and "connection failed" in message
    assert 'offline = "error"' in message and "A cached copy" in message


@pytest.mark.parametrize("offline", ["stale", "error"])
def test_offline_without_cache(offline, load) -> None:
    with IndexServer(BODY) as server:
        url = server.url
    with pytest.raises(NetworkError) as info:
        load(url, offline=offline)
    assert url in str(info.value) and "no cached copy" in str(info.value)


def test_5xx_after_retries_serves_stale(index_server, load) -> None:
    index_server.set_body(BODY)
    load(index_server.url)
    index_server.fail(503, 503)
    snap = load(index_server.url, retries=1)
    assert snap.status == "stale" and snap.error.startswith("HTTP 503")
    assert versions(snap) == [V1[0]]


def test_unreadable_cache_is_replaced(index_server, load, tmp_path) -> None:
    index_server.set_body(BODY)
    cache = cache_path(tmp_path / "cache", index_server.url)
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    snap = load(index_server.url, ttl=3600)
    assert snap.status == "live" and index_server.request_count == 1
    assert json.loads(cache.read_text())["entries"]["binderhub"][0][0] == V1[0]


def test_unreadable_cache_is_reported_when_offline(load, tmp_path) -> None:
    with IndexServer(BODY) as server:
        url = server.url
    cache = cache_path(tmp_path / "cache", url)
    cache.parent.mkdir(parents=True)
    cache.write_text("[]")
    with pytest.raises(NetworkError, match="unreadable"):
        load(url)


# --------------------------------------------------------------------------- auth


def test_token_is_sent_and_never_shown(index_server, load, monkeypatch) -> None:
    secret = "tok-3f9a1c-do-not-print"
    index_server.set_body(BODY)
    index_server.require_auth = f"Bearer {secret}"
    with pytest.raises(ChartIndexError) as info:
        load(index_server.url)
    assert "HTTP 401" in str(info.value) and "DEPLOYGUIDE_INDEX_TOKEN" in str(info.value)
    monkeypatch.setenv("DEPLOYGUIDE_INDEX_TOKEN", "wrong-token-value")
    with pytest.raises(ChartIndexError) as info:
        load(index_server.url)
    assert "wrong-token-value" not in str(info.value)
    monkeypatch.setenv("DEPLOYGUIDE_INDEX_TOKEN", secret)
    snap = load(index_server.url)
    assert snap.status == "live"
    assert index_server.last_request.headers["authorization"] == f"Bearer {secret}"


def test_credentials_in_the_url_are_not_kept(index_server, load, tmp_path) -> None:
    index_server.set_body(BODY)
    url = index_server.url.replace("http://", "http://user:hunter2@")
    snap = load(url)
    assert snap.source == index_server.url.replace("http://", "http://***@")
    assert b"hunter2" not in cache_path(tmp_path / "cache", snap.source).read_bytes()
    index_server.fail(*[500] * 3)
    with pytest.raises(NetworkError) as info:
        load(url, offline="error", retries=2)
    assert "hunter2" not in str(info.value)


def test_given_session_is_used_and_left_open(index_server, load) -> None:
    index_server.set_body(BODY)
    with requests.Session() as session:
        session.headers["X-Probe"] = "1"
        load(index_server.url, session=session)
        assert index_server.last_request.headers["x-probe"] == "1"
        load(index_server.url, session=session)  # still usable
    assert index_server.statuses() == [200, 304]


# --------------------------------------------------------------------------- local files


def test_local_file_relative_to_base_dir(load, tmp_path) -> None:
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "index.yaml").write_bytes(BODY)
    snap = load("charts/index.yaml")
    assert snap.source == str((tmp_path / "charts" / "index.yaml").resolve())
    assert snap.status == "live"
    assert snap.validator.startswith("sha256:")
    assert versions(snap) == [V1[0]]
    same = load(str(tmp_path / "charts" / "index.yaml"))  # absolute path: the same source
    assert same.entries == snap.entries and same.validator == snap.validator


def test_local_file_warm_run_uses_the_cache_and_sees_changes(load, tmp_path) -> None:
    index = tmp_path / "index.yaml"
    index.write_bytes(BODY)
    load("index.yaml")
    cache = cache_path(tmp_path / "cache", str(index.resolve()))
    doc = json.loads(cache.read_text())
    doc["entries"]["binderhub"][0][0] = "from-the-cache"
    cache.write_text(json.dumps(doc))
    assert versions(load("index.yaml")) == ["from-the-cache"]  # same sha256: no parse
    index.write_bytes(BODY2)  # a new version published: seen at once, whatever the ttl
    snap = load("index.yaml", ttl=3600)
    assert snap.status == "live" and versions(snap) == [V2[0], V1[0]]


def test_local_file_problems(load, tmp_path) -> None:
    with pytest.raises(ChartIndexError, match="does not exist") as info:
        load("missing/index.yaml")
    assert info.value.file == str(tmp_path / "missing" / "index.yaml")
    (tmp_path / "bad.yaml").write_text("entries: [\n")
    with pytest.raises(ChartIndexError, match="bad.yaml:2: the chart index is not valid YAML"):
        load("bad.yaml")
    (tmp_path / "big.yaml").write_bytes(BODY)
    with pytest.raises(ChartIndexError, match="over the limit"):
        load("big.yaml", max_bytes=10)


def test_file_url(load, tmp_path) -> None:
    folder = tmp_path / "with space"
    folder.mkdir()
    (folder / "index.yaml").write_bytes(BODY)
    snap = load((folder / "index.yaml").as_uri())
    assert snap.source == str((folder / "index.yaml").resolve())
    assert versions(snap) == [V1[0]]


def test_unsupported_scheme(load) -> None:
    with pytest.raises(ChartIndexError, match="unsupported index URL scheme 'oci'"):
        load("oci://ghcr.io/jupyterhub/helm-chart")


def test_errors_are_user_errors() -> None:
    assert issubclass(NetworkError, ChartIndexError)
    assert issubclass(ChartIndexError, DeployGuideError)


# --------------------------------------------------------------------------- real data


def test_urls_must_be_a_list_of_strings() -> None:
    body = make_index_yaml({"c": [{"version": "1.0.0", "created": V1[1], "urls": "x.tgz"}]})
    with pytest.raises(ChartIndexError, match="expected a list of archive URLs") as info:
        parse_index(body, "mem://x")
    assert info.value.key == "entries.c[0].urls"
    # Helm requires urls, but an entry without any is still a version: no archive to probe
    (entry,) = parse_index(
        make_index_yaml({"c": [{"version": "1.0.0", "created": V1[1]}]}), "mem://x"
    )["c"]
    assert entry.urls == ()


def test_cache_control_max_age_is_kept_with_the_cache(index_server, load) -> None:
    index_server.set_body(BODY)
    index_server.headers = {"Cache-Control": "public, max-age=600"}
    first = load(index_server.url)
    assert first.max_age == 600
    cached = load(index_server.url, ttl=3600)
    assert (cached.status, cached.max_age) == ("cached", 600)
    # a 304 that carries a new max-age updates it; one without keeps the cached one
    index_server.headers = {"Cache-Control": "max-age=60"}
    assert load(index_server.url).max_age == 60
    index_server.headers = {}
    again = load(index_server.url)
    assert index_server.statuses()[-1] == 304 and again.max_age == 60


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=600", 600),
        ("public, max-age=0, must-revalidate", 0),
        ('s-maxage=10, max-age="30"', 30),
        ("no-cache", None),
        (None, None),
        ("max-age=soon", None),
    ],
)
def test_cache_max_age(header, seconds) -> None:
    assert cache_max_age(header) == seconds


def entry_with(*urls: str) -> IndexEntry:
    return IndexEntry("1.0.0", datetime(2024, 1, 1, tzinfo=timezone.utc), None, urls)


def test_archive_url_only_on_the_index_host() -> None:
    index = "https://charts.example.org/helm-chart/index.yaml"
    assert archive_url(index, entry_with("binderhub-1.0.0.tgz")) == (
        "https://charts.example.org/helm-chart/binderhub-1.0.0.tgz"
    )
    assert (
        archive_url(index, entry_with("/other/x.tgz")) == "https://charts.example.org/other/x.tgz"
    )
    assert archive_url(index, entry_with("https://charts.example.org/a.tgz", "b.tgz")) == (
        "https://charts.example.org/a.tgz"
    )
    # another host (or port) is not probed, nor is a local index or an entry without urls
    assert archive_url(index, entry_with("https://github.com/o/r/releases/x.tgz")) is None
    assert archive_url(index, entry_with("https://charts.example.org:8443/x.tgz")) is None
    assert archive_url("/srv/index.yaml", entry_with("x.tgz")) is None
    assert archive_url(index, entry_with()) is None


def test_probe_archive_against_a_real_server(index_server) -> None:
    index_server.add_file("/charts/binderhub-1.0.0.tgz", b"\x1f\x8b archive")
    found = f"{index_server.base_url}/charts/binderhub-1.0.0.tgz"
    assert probe_archive(found) is None
    assert index_server.last_request.method == "HEAD"
    missing = f"{index_server.base_url}/charts/binderhub-2.0.0.tgz"
    assert probe_archive(missing) == f"{missing} does not answer (HTTP 404 Not Found)"
    # a server that refuses HEAD is asked for the first byte instead
    index_server.fail(405)
    assert probe_archive(found) is None
    last = index_server.last_request
    assert (last.method, last.headers["range"]) == ("GET", "bytes=0-0")


def test_probe_archive_has_a_deadline(index_server) -> None:
    index_server.add_file("/x.tgz", b"x")
    index_server.delay = 2.0
    started = time.monotonic()
    problem = probe_archive(f"{index_server.base_url}/x.tgz", timeout=(0.5, 0.3))
    assert "does not answer (read timeout (0.3 s))" in problem
    assert time.monotonic() - started < 1.9
    index_server.delay = 0.0
    index_server.stop()
    assert "does not answer (connection failed" in probe_archive(f"{index_server.base_url}/x.tgz")


@needs_real_index
def test_real_index_counts() -> None:
    entries = parse_index(REAL_INDEX.read_bytes(), str(REAL_INDEX))
    assert {chart: len(items) for chart, items in entries.items()} == REAL_COUNTS
    assert entries["binderhub"][0] == IndexEntry(
        "1.0.0-0.dev.git.3506.hba24eb2a",
        datetime(2024, 8, 8, 18, 5, 34, 413844, timezone.utc),
        "6baa499c29bc342a74d665425a72cdc0a863c1b559c86bd93d3e0735cdfa5909",
        ("https://jupyterhub.github.io/helm-chart/binderhub-1.0.0-0.dev.git.3506.hba24eb2a.tgz",),
    )
    assert all(e.created.tzinfo is timezone.utc for items in entries.values() for e in items)


@needs_real_index
def test_real_index_over_http_then_304(load) -> None:
    with IndexServer(REAL_INDEX.read_bytes()) as server:
        live = load(server.url)
        warm = load(server.url)
        assert server.statuses() == [200, 304]
    assert {chart: len(items) for chart, items in live.entries.items()} == REAL_COUNTS
    assert warm.entries == live.entries


def test_an_index_load_hands_over_its_entries_before_its_snapshot(index_server, tmp_path):
    """:func:`start_index_loads` loads each index of the model in a thread; ``ahead()``
    gives the entries read (the body's digest with them) before the rest of the body is
    checked, and the snapshot has the same entries. A load that fails fails both ways."""
    from sphinx_deployguide.config import load_model
    from sphinx_deployguide.indexcache import start_index_loads

    model_file = tmp_path / "deployguide.toml"
    model_file.write_text(
        '[cache]\ndir = "cache"\n\n'
        f'[charts.binderhub]\nsource = "."\nindex = "{index_server.url}"\n\n'
        f'[charts.jupyterhub]\nsource = "."\nindex = "{index_server.url}"\n'
    )
    model = load_model(model_file)
    index_server.set_body(BODY)
    (load,) = start_index_loads(model, refresh=False, offline="error").values()
    ahead, snapshot = load.ahead(), load()
    assert ahead.entries == snapshot.entries and ahead.digest == snapshot.digest
    assert set(snapshot.entries) == {"binderhub", "jupyterhub"}  # one read for both charts
    assert index_server.request_count == 1

    index_server.set_body(b"apiVersion: v1\nentries:\n  binderhub: [\n")
    (broken,) = start_index_loads(model, refresh=True, offline="error").values()
    with pytest.raises(ChartIndexError, match="not valid YAML"):
        broken.ahead()
    with pytest.raises(ChartIndexError, match="not valid YAML"):
        broken()
