"""Where the files the package reads at run time live (the jinja2 templates and texts)."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def templates_dir() -> Path:
    """`templates/` beside the package in a source checkout (or an editable install), or
    `monitor/templates` inside a built wheel, which carries it as package data."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "templates", package / "templates"):
        if (candidate / "texts" / "shared.toml").is_file():
            return candidate
    raise FileNotFoundError(f"no templates/texts/shared.toml beside or inside {package}")
