"""The one text catalogue: every word a person reads, Indonesian and English side by side.

`templates/texts/*.toml` load into one `Catalog` of flat keys ("reason.timeout",
"page.updated", "report.title", "alert.label.state"), each with its `id` and `en` text:

    shared.toml   the state words and reasons: every consumer shows these, so a reason
                  reads the same everywhere
    web.toml      the pages, badges and admin view (page.*, target.*, admin.*, ...)
    report.toml   the availability report's layout (report.*)
    alerts.toml   the alert messages' layout (alert.*)
    adminui.toml  the admin UI's login, forms, targets table and audit log (login.*, ...)

A key lives in one file only. Texts use `{name}` placeholders. `Words` is the catalogue in
one language, handed to every template as `t`: `t("key", name=value)`, `t.state(value)`,
`t.reason(code)`. The jinja2 environments stay each consumer's own (HTML autoescaping for
the pages, Markdown or plain text for the report and the alerts); only the words are
shared.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.result import Reason, State

LANGUAGES = ("id", "en")
STATES: tuple[str, ...] = tuple(state.value for state in State)
REASONS: tuple[str, ...] = tuple(value for name, value in vars(Reason).items() if name.isupper())
FALLBACK_REASON = "other"  # `reason.other`: the words for a code the catalogue does not know


@dataclass(frozen=True)
class Catalog(Mapping[str, Mapping[str, str]]):
    """Every text, `{"page.updated": {"id": ..., "en": ...}, ...}`."""

    entries: Mapping[str, Mapping[str, str]]

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self.entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def words(self, lang: str) -> Words:
        return Words(self, lang)


@dataclass(frozen=True)
class Words:
    """The catalogue in one language. Templates call `t("key", name=value)`."""

    catalog: Catalog
    lang: str

    def __call__(self, key: str, **values: object) -> str:
        entry = self.catalog.entries.get(key)
        if entry is None:
            raise KeyError(f"no text {key!r} in templates/texts/")
        return entry[self.lang].format(**values) if values else entry[self.lang]

    def state(self, value: str) -> str:
        """A `monitor.result.State` in words (`DOWN` -> `Gangguan`, `Down`)."""
        return self(f"state.{value}")

    def reason(self, code: str) -> str:
        """A machine reason (`monitor.result.Reason`, or a probe kind's own) in words."""
        key = f"reason.{code}"
        return self(key if key in self.catalog else f"reason.{FALLBACK_REASON}")


def load_catalog(templates: Path) -> Catalog:
    """Every `templates/texts/*.toml`, flattened into one catalogue.

    Raises ValueError for a broken catalogue (an entry without both languages, a key in
    two files): that is a fault of the package, not of a user's configuration."""
    entries: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    files = sorted((templates / "texts").glob("*.toml"))
    if not files:
        raise ValueError(f"no text catalogue in {templates / 'texts'}")
    for path in files:
        with path.open("rb") as file:
            found = _flatten(tomllib.load(file), "", path.name)
        for key, entry in found.items():
            if key in entries:
                raise ValueError(f"text {key!r} is in both {where[key]} and {path.name}")
            entries[key], where[key] = entry, path.name
    return Catalog(entries)


def _flatten(table: Mapping[str, Any], prefix: str, name: str) -> dict[str, dict[str, str]]:
    # An entry is a table whose keys are exactly the languages (so no section may have a
    # sub-table named "id" or "en").
    if set(table) == set(LANGUAGES):
        if not all(isinstance(table[lang], str) for lang in LANGUAGES):
            raise ValueError(f"{name}: {prefix}: every language's text must be a string")
        return {prefix: {lang: table[lang] for lang in LANGUAGES}}
    found: dict[str, dict[str, str]] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if not isinstance(value, Mapping):
            raise ValueError(f"{name}: {path}: an entry needs exactly {' and '.join(LANGUAGES)}")
        found.update(_flatten(value, path, name))
    return found
