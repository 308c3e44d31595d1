"""Loading a real targets.toml in the probe tests, so each kind's keys go through the
same validation as a user's file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.config import Config
from monitor.config.loader import load_config

Load = Callable[[str], Config]


def loader(folder: Path) -> Load:
    """`load(text)` writes `text` to folder/targets.toml and loads it (no environment)."""

    def load(text: str) -> Config:
        path = folder / "targets.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path, env={})

    return load
