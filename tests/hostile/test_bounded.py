"""Bounded work, always: alias bombs, slow servers, catastrophic patterns, redirect loops."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from tests.indexserver import Fault, IndexServer

from .conftest import (
    BOMB,
    DOCS,
    QUICK,
    SPHINX,
    commit_file,
    deployguide,
    expect,
    git,
    model_line,
    set_model,
)

BOMB_LINE = 8  # the anchor that multiplies most: &h, written on line 8


def test_alias_bomb_in_the_pin_file(hworld):
    chart = Path(hworld.deploy) / "mybinder" / "Chart.yaml"
    chart.write_text(BOMB + chart.read_text())
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 0, f"{chart}:{BOMB_LINE}", "a YAML alias bomb is refused", "warning")
    table, unavailable = result.out.split("not computed (the reason):", 1)
    assert "charts.binderhub.pinned" not in table  # not rendered: it was not read ...
    assert "charts.binderhub.pinned " in unavailable  # ... and said why


def test_alias_bomb_in_a_values_file(hworld):
    (Path(hworld.deploy) / "config" / "staging.yaml").write_text(BOMB)
    page = Path(hworld.deploy) / DOCS / "values.md"
    page.write_text("# Values\n\nThe flag is {deploy-config}`config/staging.yaml#i[0][0]`.\n")
    result = deployguide("lint", "--format", "json", cwd=hworld.deploy, timeout=SPHINX * 2)
    expect(result, 1, f"config/staging.yaml:{BOMB_LINE}", "alias bomb", within=SPHINX)
    [finding] = [f for f in json.loads(result.out) if f["file"].endswith("values.md")]
    assert finding["line"] == 3 and "a YAML alias bomb is refused" in finding["message"]


def test_alias_bomb_in_chartpress_yaml_read_from_git(hworld):
    commit_file(Path(hworld.source), "helm-chart/chartpress.yaml", BOMB, "Bomb the config")
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 2, f"helm-chart/chartpress.yaml:{BOMB_LINE}: invalid YAML", "alias bomb")


def test_alias_bomb_in_the_index(hworld):
    Path(hworld.index).write_text(BOMB)
    result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 2, f"{hworld.index}:{BOMB_LINE}: the chart index is not valid YAML", "alias")


def test_a_server_sending_one_byte_a_second_meets_the_timeout_deadline(hworld):
    with IndexServer(Path(hworld.index).read_bytes()) as server:
        server.fail(*[Fault(trickle=1.0) for _ in range(4)])
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{server.url}"')
        set_model(
            hworld,
            'dir = ".deployguide-cache"',
            'dir = ".deployguide-cache"\n\n[network]\ntimeout = 2',
        )
        result = deployguide("facts", cwd=hworld.deploy)
    expect(result, 2, server.url, "no complete answer within network.timeout (2 s)", within=QUICK)
    assert result.seconds < 8  # 2 s deadline; a per-read timeout would wait for every byte


def test_retries_never_outlast_the_deadline(hworld):
    with IndexServer(Path(hworld.index).read_bytes()) as server:
        server.fail(*[Fault(status=503, headers={"Retry-After": "25"}) for _ in range(5)])
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{server.url}"')
        set_model(
            hworld,
            'dir = ".deployguide-cache"',
            'dir = ".deployguide-cache"\n\n[network]\ntimeout = 3',
        )
        result = deployguide("facts", cwd=hworld.deploy)
        requests = server.request_count
    expect(result, 2, "HTTP 503", "no time left to retry within network.timeout (3 s)")
    assert requests == 1 and result.seconds < 8


def test_a_polynomial_failure_pattern_of_the_model_runs_in_linear_time(hworld, tmp_path):
    model = Path(hworld.model)
    model.write_text(
        model.read_text() + '\n[[failures]]\nid = "slow"\ntitle = "t"\npatterns = ["x.*y.*z.*w"]\n'
        'stage = "tests"\nverdict = "legitimate"\nexplanation = "e"\nremedy = "r"\n'
    )
    log = tmp_path / "ci.log"
    log.write_text(("x" * 1400 + "y" * 1400 + "z" * 1400 + "\n") * 20)
    result = deployguide("diagnose", str(log), cwd=hworld.deploy)
    expect(result, 2, "UNKNOWN: no catalog entry matched this log")


def test_a_failure_pattern_re2_cannot_compile_is_refused_when_the_model_loads(hworld):
    model = Path(hworld.model)
    model.write_text(
        model.read_text() + '\n[[failures]]\nid = "backref"\ntitle = "t"\npatterns = ["(a)\\\\1"]\n'
        'stage = "tests"\nverdict = "legitimate"\nexplanation = "e"\nremedy = "r"\n'
    )
    line = model_line(hworld, "[[failures]]")
    for command in (("facts",), ("diagnose", "-")):
        result = deployguide(*command, cwd=hworld.deploy, stdin="boom\n")
        expect(
            result,
            4 if command[0] == "diagnose" else 2,
            f"deployguide.toml:{line}: failures[0].patterns[0]",
            "RE2 cannot compile it",
            "backreferences are not supported",
        )


def _claim_page(world, pattern: str) -> None:
    (Path(world.deploy) / "long.txt").write_text("a" * 200_000 + "b\n")
    (Path(world.deploy) / DOCS / "claim.md").write_text(
        "# Claim\n\n```{deploy-claim}\n:file: long.txt\n:matches: "
        + pattern
        + "\n\nThe file is all a.\n```\n"
    )


def test_a_catastrophic_claim_pattern_cannot_hang_the_build(hworld):
    _claim_page(hworld, "^(a|a)+$")
    result = deployguide("lint", "--format", "json", cwd=hworld.deploy, timeout=SPHINX * 2)
    expect(result, 1, "long.txt no longer matches /^(a|a)+$/", within=SPHINX)
    [finding] = [f for f in json.loads(result.out) if "long.txt" in f["message"]]
    assert finding["file"].endswith("claim.md") and finding["line"] == 3


def test_a_claim_pattern_re2_cannot_compile_is_a_located_error(hworld):
    _claim_page(hworld, "(?<=a)b")
    result = deployguide("lint", "--format", "json", cwd=hworld.deploy, timeout=SPHINX * 2)
    expect(result, 1, "RE2 cannot compile it", "lookarounds are not supported", within=SPHINX)
    [finding] = [f for f in json.loads(result.out) if "RE2" in f["message"]]
    assert finding["file"].endswith("claim.md") and finding["line"] == 3


def test_a_redirect_loop_stops_at_once(hworld):
    with IndexServer(Path(hworld.index).read_bytes()) as server:
        server.redirect = "/index.yaml?again"
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{server.url}"')
        result = deployguide("facts", cwd=hworld.deploy)
        requests = server.request_count
    expect(result, 2, "redirect loop:", f"{server.url} -> {server.url}?again -> {server.url}?again")
    assert requests == 2  # no retry: a loop does not heal


def test_a_cross_host_redirect_goes_without_the_token_and_the_provenance_says_where(hworld):
    body = Path(hworld.index).read_bytes()
    with IndexServer(body) as elsewhere, IndexServer(body) as origin:
        origin.redirect = elsewhere.url
        set_model(hworld, 'index = "../helm-chart/index.yaml"', f'index = "{origin.url}"')
        result = deployguide(
            "facts", "--json", cwd=hworld.deploy, env={"DEPLOYGUIDE_INDEX_TOKEN": "t0ken-v4lue"}
        )
        sent = origin.last_request.headers.get("authorization")
        received = elsewhere.last_request.headers.get("authorization")
    expect(result, 0)
    assert sent == "Bearer t0ken-v4lue" and received is None
    fact = json.loads(result.out)["facts"]["charts.binderhub.published"]
    assert fact["source"] == origin.url and fact["redirected_to"] == elsewhere.url
    assert "t0ken-v4lue" not in result.text


def test_bump_wait_takes_only_a_finite_bounded_timeout_and_poll_interval(hworld):
    # binderhub-service's current version never appears: --wait would poll until the timeout
    for bad in ("nan", "inf", "1e12", "0", "-5", "1441"):
        result = deployguide(
            "bump", "binderhub-service", "--wait", "--dry-run", "--timeout", bad,
            cwd=hworld.deploy, timeout=QUICK,
        )  # fmt: skip
        expect(
            result,
            2,
            "argument --timeout: expected a number of minutes above 0 and at most 1440 (24 h), "
            f"got {bad!r}",
        )
    for bad in ("nan", "inf", "1e9"):
        result = deployguide(
            "bump", "binderhub-service", "--wait", "--dry-run", "--poll-interval", bad,
            cwd=hworld.deploy, timeout=QUICK,
        )  # fmt: skip
        expect(result, 2, "argument --poll-interval: expected a number of seconds above 0")
        from_env = deployguide(
            "bump", "binderhub-service", "--wait", "--dry-run",
            cwd=hworld.deploy, env={"DEPLOYGUIDE_POLL_INTERVAL": bad}, timeout=QUICK,
        )  # fmt: skip
        expect(from_env, 2, "DEPLOYGUIDE_POLL_INTERVAL: expected a number of seconds above 0")


class SilentServer:
    """A TCP server on 127.0.0.1 that never answers (a git host that hangs): it listens and
    never accepts, so the kernel completes each handshake, keeps what the client sends and
    holds the connection until the server stops. (No thread of ours accepts and holds the
    connections: nothing on our side can close one early.)"""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/binderhub.git"

    def __enter__(self) -> SilentServer:
        self.sock.listen(64)
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def _source_at(world, url: str, timeout: int = 2) -> int:
    """Both charts' source at ``url``, network.timeout ``timeout``; the model line of the
    first source."""
    model = Path(world.model)
    text = model.read_text(encoding="utf-8").replace('source = "../binderhub"', f'source = "{url}"')
    text = text.replace(
        'dir = ".deployguide-cache"',
        f'dir = ".deployguide-cache"\n\n[network]\ntimeout = {timeout}',
    )
    model.write_text(text, encoding="utf-8")
    return model_line(world, f'source = "{url}"')


def _mirror_for(world, url: str, *, age: float, blobless: bool = True) -> Path:
    """A mirror of the world's source (blobless unless told), made from its file:// URL and
    then pointed at ``url`` (as if cloned from there), its last fetch ``age`` seconds ago."""
    from sphinx_deployguide.git import STAMP_NAME
    from sphinx_deployguide.gitsource import mirror_slug

    source = Path(world.source)
    git(source, "config", "uploadpack.allowFilter", "true")  # so the clone is really blobless
    cache = Path(world.deploy) / ".deployguide-cache" / "git"
    cache.mkdir(parents=True)
    mirror = cache / mirror_slug(url)
    done = subprocess.run(
        ["git", "clone", "--bare", "--quiet", *(["--filter=blob:none"] if blobless else [])]
        + [source.as_uri(), str(mirror)],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    git(mirror, "remote", "set-url", "origin", url)
    stamp = mirror / STAMP_NAME
    stamp.touch()
    then = time.time() - age
    os.utime(stamp, (then, then))
    return mirror


def test_a_git_host_that_never_answers_stops_the_clone_at_the_deadline(hworld):
    with SilentServer() as server:
        line = _source_at(hworld, server.url)
        result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result,
        2,
        f"{hworld.model}:{line}: charts.binderhub.source: cannot mirror chart source {server.url}: "
        "git clone: no answer within network.timeout (2 s)",
    )
    assert result.seconds < 10  # 2 s for the clone; never the old 15 minutes
    assert not list((Path(hworld.deploy) / ".deployguide-cache" / "git").glob("*binderhub*"))


def test_a_git_host_that_never_answers_stops_the_fetch_at_the_deadline(hworld):
    with SilentServer() as server:
        _mirror_for(hworld, server.url, age=3600, blobless=False)  # older than the TTL
        _source_at(hworld, server.url)
        stale = deployguide("facts", cwd=hworld.deploy)
        set_model(hworld, 'deploy_repo = "."', 'deploy_repo = "."\noffline = "error"')
        refused = deployguide("facts", cwd=hworld.deploy)
    expect(stale, 0)
    assert "stale" in stale.out and stale.seconds < 15
    expect(
        refused,
        2,
        f"cannot update the mirror of {server.url}: git fetch: no answer within network.timeout (2 s)",
    )
    assert refused.seconds < 10


def test_a_git_host_that_never_answers_stops_a_lazy_blob_fetch_at_the_deadline(hworld):
    """A blobless mirror reads chartpress.yaml from its remote the first time it is needed."""
    with SilentServer() as server:
        _mirror_for(hworld, server.url, age=0)  # fresh: no fetch, but no blob either
        line = _source_at(hworld, server.url)
        result = deployguide("facts", cwd=hworld.deploy)
    expect(
        result,
        2,
        f"{hworld.model}:{line}: charts.binderhub.source: reading helm-chart/chartpress.yaml, "
        f"helm-chart/binderhub/Chart.yaml at {hworld.head[:12]} from {server.url} (objects of "
        "a partial clone are fetched from its remote): "
        "no answer within network.timeout (2 s)",
    )
    assert result.seconds < 10
