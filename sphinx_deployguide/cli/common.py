"""What every subcommand shares: finding and loading the model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError

if TYPE_CHECKING:  # the model's reader, imported when there is a model to read
    from ..config import Model

DEFAULT_LOCATIONS = (Path("deployguide.toml"), Path("docs") / "deployguide.toml")


def find_model_path(explicit: str | None) -> Path:
    """``--config`` if given, else ``./deployguide.toml``, else ``docs/deployguide.toml``."""
    if explicit:
        return Path(explicit)
    for candidate in DEFAULT_LOCATIONS:
        if candidate.is_file():
            return candidate
    raise ModelError(
        "no deployguide.toml here or in docs/; pass --config PATH or run `deployguide demo DIR` for an example",
    )


def load_model_from_args(args: argparse.Namespace) -> Model:
    from ..config import load_model

    return load_model(find_model_path(getattr(args, "config", None)))


def model_path_if_any(args: argparse.Namespace) -> Path | None:
    """The model path from ``--config`` or the default locations, ``None`` if there is none
    (commands that read the docs can still run: ``conf.py`` names the model)."""
    try:
        return find_model_path(getattr(args, "config", None))
    except ModelError:
        return None
