"""Reading ``chartpress.yaml`` as chartpress reads it, down to the chart's paths.

A chart version is the last commit touching the chart's paths, so which paths chartpress
watches (its config file, the chart folder, each image's context and Dockerfile, the extra
``paths``) decides the version. This module reads the config with chartpress's own YAML
rules (1.2 booleans) and defaults; every problem is a :class:`ChartpressError` naming the
file and the key. Reading the files at a revision is :mod:`.chartversion`'s part.
"""

from __future__ import annotations

import functools
import posixpath
import re
from typing import TYPE_CHECKING, Any, cast

from .errors import GitError

if TYPE_CHECKING:  # imported on first use: versions are parsed by commands that read no YAML
    import yaml

__all__ = ["ChartpressError", "chart_paths", "find_chart", "load_chartpress_yaml", "to_repo_path"]


class ChartpressError(GitError):
    """The chart source's ``chartpress.yaml``/``Chart.yaml`` cannot give a version."""


@functools.cache
def _yaml12_loader() -> type[yaml.SafeLoader]:
    """A safe loader with YAML 1.2 booleans, as chartpress's ruamel.yaml reads its config
    (made on first use: versions are parsed by commands that read no YAML).

    PyYAML (YAML 1.1) reads ``no``/``off``/``yes`` as booleans; ruamel.yaml reads them as
    strings. ``rebuildOnContextPathChanges: no`` is therefore *truthy* for chartpress.
    """
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = cast("type[yaml.SafeLoader]", type("Yaml12Loader", (base,), {}))
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return loader


def load_chartpress_yaml(text: str, where: str) -> Any:
    """Parse YAML text safely (YAML 1.2 booleans); ChartpressError naming ``where``."""
    import yaml

    from . import safeyaml

    try:
        return safeyaml.load(text, _yaml12_loader())  # a safe loader subclass, bounded
    except yaml.YAMLError as exc:
        problem, line = safeyaml.problem_of(exc)
        raise ChartpressError(f"invalid YAML: {problem}", file=where, line=line) from None


def find_chart(config: Any, chart_name: str, where: str) -> dict[str, Any]:
    if not isinstance(config, dict) or not isinstance(config.get("charts"), list):
        raise ChartpressError("expected a mapping with a list `charts`", file=where, key="charts")
    names = []
    for i, chart in enumerate(config["charts"]):
        if not isinstance(chart, dict):
            raise ChartpressError("expected a mapping per chart", file=where, key=f"charts[{i}]")
        names.append(chart.get("name"))
        if chart.get("name") == chart_name:
            return chart
    raise ChartpressError(
        f"no chart named {chart_name!r} (charts: {', '.join(map(repr, names)) or 'none'})",
        file=where,
        key="charts",
    )


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ChartpressError("expected a list of path strings", file=where, key=key)
    return list(value)


def _optional_str(table: dict[str, Any], name: str, where: str, key: str) -> str | None:
    """``table[name]`` when it is a path string, None when absent; else a located error."""
    value = table.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ChartpressError(
        f"expected a path string, got {type(value).__name__} {value!r}",
        file=where,
        key=f"{key}.{name}",
    )


def to_repo_path(chartpress_dir: str, path: str, where: str, key: str) -> str:
    """A path relative to the chartpress folder -> the same pathspec from the repo root."""
    if not isinstance(path, str) or not path:
        raise ChartpressError(
            f"expected a non-empty path string, got {path!r}", file=where, key=key
        )
    if path.startswith(":"):
        raise ChartpressError(f"pathspec magic is not supported: {path!r}", file=where, key=key)
    if path.startswith("/"):
        raise ChartpressError(
            f"expected a path relative to the chartpress.yaml folder, got {path!r}",
            file=where,
            key=key,
        )
    joined = posixpath.normpath(posixpath.join(chartpress_dir, path))
    if joined == ".." or joined.startswith("../"):
        raise ChartpressError(f"path {path!r} points outside the repository", file=where, key=key)
    if path.endswith("/") and joined != ".":
        joined += "/"  # git: a trailing slash matches directories only
    return joined


def chart_paths(
    chartpress_config: dict[str, Any],
    chart_name: str,
    chartpress_dir: str,
    *,
    config_name: str = "chartpress.yaml",
    where: str = "chartpress.yaml",
) -> list[str]:
    """The paths whose history gives the chart version, relative to the repository root.

    chartpress (``_get_all_chart_paths``): its config file, ``chartPath`` (default the
    chart name), the chart's ``paths``, and per image the config file, the context path
    (only if ``rebuildOnContextPathChanges``, default true; default ``images/<name>``),
    the ``dockerfilePath`` (default ``<context>/Dockerfile``) and the image's ``paths``.
    All are relative to the folder holding the config (``chartpress_dir``, "" for the
    root). Sorted and without duplicates (chartpress uses a set).
    """
    chart = find_chart(chartpress_config, chart_name, where)
    ckey = f"charts[name={chart_name}]"
    rel: list[tuple[str, str]] = [(config_name, "(the config file itself)")]
    chart_path = _optional_str(chart, "chartPath", where, ckey) or chart_name
    rel.append((chart_path, f"{ckey}.chartPath"))
    rel += [(p, f"{ckey}.paths") for p in _str_list(chart.get("paths"), where, f"{ckey}.paths")]
    images = chart.get("images")
    if images is not None:
        if not isinstance(images, dict):
            raise ChartpressError("expected a mapping of images", file=where, key=f"{ckey}.images")
        for name, options in images.items():
            ikey = f"{ckey}.images.{name}"
            if not isinstance(options, dict):
                raise ChartpressError("expected a mapping of image options", file=where, key=ikey)
            context = _optional_str(options, "contextPath", where, ikey) or posixpath.join(
                "images", str(name)
            )
            dockerfile = _optional_str(options, "dockerfilePath", where, ikey) or posixpath.join(
                context, "Dockerfile"
            )
            rel.append((config_name, ikey))
            # chartpress: `options.get("rebuildOnContextPathChanges", True)`, plain truthiness
            if options.get("rebuildOnContextPathChanges", True):
                rel.append((context, f"{ikey}.contextPath"))
            rel.append((dockerfile, f"{ikey}.dockerfilePath"))
            rel += [
                (p, f"{ikey}.paths")
                for p in _str_list(options.get("paths"), where, f"{ikey}.paths")
            ]
    return sorted({to_repo_path(chartpress_dir, p, where, key) for p, key in rel})
