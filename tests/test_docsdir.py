"""Finding the runbook's Sphinx folder the way Sphinx projects lay it out: one lookup for
``checklist``, ``lint`` and ``bump`` (``sphinx_deployguide.docsdir.find_docs_dir``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sphinx_deployguide.cli import main
from sphinx_deployguide.docsdir import DocsNotFound, configured_model, find_docs_dir


def conf(folder: Path, model: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    line = f"deployguide_config = {model!r}\n" if model is not None else ""
    (folder / "conf.py").write_text(f'project = "x"\n{line}', encoding="utf-8")
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A deploy repo with its model at the root and a folder to run commands from."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "deployguide.toml").write_text("", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    return root


@pytest.mark.parametrize("layout", ["docs", "docs/source", "doc", "doc/source"])
def test_sphinx_layouts_beside_the_model(repo, tmp_path, layout):
    docs = conf(repo / layout, "../" * len(Path(layout).parts) + "deployguide.toml")
    found = find_docs_dir(repo / "deployguide.toml", cwd=tmp_path / "elsewhere")
    assert found.resolve() == docs.resolve()


def test_from_the_repo_root_without_a_model(repo):
    docs = conf(repo / "docs" / "source")
    assert find_docs_dir(None, cwd=repo).resolve() == docs.resolve()


def test_the_model_in_the_docs_folder_itself(tmp_path):
    docs = conf(tmp_path / "runbook", "deployguide.toml")
    (docs / "deployguide.toml").write_text("", encoding="utf-8")
    assert find_docs_dir(docs / "deployguide.toml", cwd=tmp_path).resolve() == docs.resolve()


def test_the_folder_whose_conf_names_the_model(repo, tmp_path):
    # not a usual place: found because its conf.py points back at the model
    docs = conf(repo / "site" / "ops" / "runbook", "../../../deployguide.toml")
    conf(repo / "site" / "other", "../../other.toml")  # another project's docs: not this one
    found = find_docs_dir(repo / "deployguide.toml", cwd=tmp_path / "elsewhere")
    assert found.resolve() == docs.resolve()


def test_a_conf_naming_this_model_wins_over_one_naming_another(repo, tmp_path):
    conf(repo / "docs", "../other.toml")
    docs = conf(repo / "doc", "../deployguide.toml")
    found = find_docs_dir(repo / "deployguide.toml", cwd=tmp_path / "elsewhere")
    assert found.resolve() == docs.resolve()


def test_conf_py_is_read_never_run(tmp_path):
    marker = tmp_path / "ran"
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "conf.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndeployguide_config = '../m.toml'\n", encoding="utf-8"
    )
    assert configured_model(folder / "conf.py") == (tmp_path / "m.toml").resolve()
    assert not marker.exists()
    (folder / "conf.py").write_text("deployguide_config = str(HERE / 'm.toml')\n")
    assert configured_model(folder / "conf.py") is None  # not a literal: unknown
    (folder / "conf.py").write_text("def broken(:\n")
    assert configured_model(folder / "conf.py") is None


def test_nothing_found_says_where_it_looked(repo, tmp_path):
    with pytest.raises(DocsNotFound) as info:
        find_docs_dir(repo / "deployguide.toml", cwd=tmp_path / "elsewhere")
    message = str(info.value)
    for place in ("docs/", "docs/source/", "doc/", "doc/source/", str(repo), "--docs DIR"):
        assert place in message


def test_explicit_folder_must_hold_conf_py(tmp_path):
    with pytest.raises(DocsNotFound, match=f"no conf.py in {tmp_path}"):
        find_docs_dir(None, explicit=tmp_path)
    assert find_docs_dir(None, explicit=conf(tmp_path / "d")) == tmp_path / "d"


# --- the commands use it ------------------------------------------------------------------------


def test_checklist_lint_and_bump_find_docs_source(world, capsys, monkeypatch, tmp_path):
    """The demo deploy repo keeps its runbook in docs/source/ (no --docs anywhere)."""
    monkeypatch.chdir(world.deploy)
    assert not (world.deploy / "docs" / "conf.py").exists()
    capsys.readouterr()
    assert main(["checklist", "staging"]) == 0
    assert "Deploy to staging" in capsys.readouterr().out
    index = world.deploy / "docs" / "source" / "index.md"
    index.write_text(index.read_text() + "\nSee {deploy-file}`gone.yaml`.\n")
    capsys.readouterr()
    assert main(["lint"]) == 1  # the finding is on a page of docs/source/
    assert "docs/source/index.md:" in capsys.readouterr().out
    index.write_text(index.read_text().replace("\nSee {deploy-file}`gone.yaml`.\n", ""))
    capsys.readouterr()
    assert main(["bump", "binderhub", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "### Deploy checklist: staging" in out and "could not be included" not in out


def test_checklist_from_elsewhere_with_config_only(demo_world, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["--config", str(demo_world.model), "checklist", "prod"]) == 0
    assert "Deploy to prod" in capsys.readouterr().out


def test_lint_with_no_docs_anywhere_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["lint"]) == 2
    err = capsys.readouterr().err
    assert "cannot find the docs: no conf.py in docs/, docs/source/, doc/, doc/source/" in err
    assert "pass DOCS_DIR" in err and "Traceback" not in err


def test_moved_runbook_is_found_by_its_conf(demo_copy, capsys, monkeypatch):
    source = demo_copy.deploy / "docs" / "source"
    moved = demo_copy.deploy / "ops" / "runbook"
    moved.parent.mkdir()
    shutil.move(source, moved)  # conf.py says ../../deployguide.toml: still the model
    monkeypatch.chdir(demo_copy.deploy)
    capsys.readouterr()
    assert main(["checklist", "staging", "--format", "json"]) == 0
    assert '"env": "staging"' in capsys.readouterr().out
