"""Helpers shared by the probe tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config, load_config


@pytest.fixture
def config_from(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Load a targets.toml written from the given text (a `[targets.*]` section)."""

    def load(text: str) -> Config:
        path = tmp_path / "targets.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path, env={})

    return load
