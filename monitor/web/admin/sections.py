"""The rest of what the file holds, edited the way targets are: notifiers
(`[notifiers.NAME]`, a form per `type`), watch periods (`[[watch]]`), maintenance
windows (`[[maintenance]]`), duty rosters (`[rosters.NAME]`) and their shifts
(`[[duty]]`), each table's form made from the loader's own reading of it
(`monitor.config.fields`).

A `Section` says where its tables live (keyed by name, or an array whose items are
known by their position) and which fields a table has. The document operations here
(`items`, `item`, `put`, `remove`) are what the pages and the JSON API
(`monitor.web.admin.sectionpages`) both write through `monitor.web.admin.changes.save`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from monitor.config.edit import Change, set_table, set_value
from monitor.config.fields import Field, array_fields, notifier_fields, roster_fields


@dataclass(frozen=True)
class Section:
    """One kind of table: `name` as in the file, `keyed` (`[notifiers.NAME]`) or an
    array (`[[watch]]`), the key choosing its fields (`variant`: a notifier's `type`)
    with its choices, and its fields for a variant."""

    name: str
    keyed: bool
    fields: Callable[[str], tuple[Field, ...]]
    variant: str | None = None
    variants: Callable[[], list[str]] = lambda: []

    def fields_for(self, values: Mapping[str, Any], chosen: str = "") -> tuple[Field, ...] | None:
        """The fields of a table holding `values` (or of the `chosen` variant)."""
        if self.variant is None:
            return self.fields("")
        variant = chosen or values.get(self.variant)
        return self.fields(variant) if isinstance(variant, str) and variant in self.variants() else None


def _notifier_types() -> list[str]:
    from monitor.notifiers import NOTIFIERS

    return sorted(NOTIFIERS)


SECTIONS: dict[str, Section] = {
    "notifiers": Section("notifiers", True, notifier_fields, "type", _notifier_types),
    "watch": Section("watch", False, lambda _: array_fields("watch")),
    "maintenance": Section("maintenance", False, lambda _: array_fields("maintenance")),
    "rosters": Section("rosters", True, lambda _: roster_fields()),
    "duty": Section("duty", False, lambda _: array_fields("duty")),
}
# The sections whose saves can leave a roster with a gap: their pages show the warnings.
DUTY_SECTIONS = ("rosters", "duty")


def items(document: tomlkit.TOMLDocument, section: Section) -> list[tuple[str, dict[str, Any]]]:
    """Each table of the section as (its key or position, its plain values)."""
    found = document.get(section.name)
    if found is None:
        return []
    if section.keyed:
        return [(str(k), dict(v.unwrap())) for k, v in found.items() if isinstance(v, Table)]
    return [(str(i), dict(t.unwrap())) for i, t in enumerate(found)]


def item(document: tomlkit.TOMLDocument, section: Section, key: str) -> dict[str, Any] | None:
    return dict(items(document, section)).get(key)


def put(section: Section, key: str | None, values: Mapping[str, Any]) -> Change:
    """`key`'s table holds exactly `values`; None (or a new name) adds one."""

    def change(document: tomlkit.TOMLDocument) -> None:
        if section.keyed:
            assert key is not None
            if section.name not in document:
                document.add(section.name, tomlkit.table(is_super_table=True))
            parent = document[section.name]
            assert isinstance(parent, Table)
            set_table(parent, key, values)
            return
        if section.name not in document:
            document.add(section.name, tomlkit.aot())
        array = document[section.name]
        assert isinstance(array, AoT)
        if key is None:
            if len(array) and not array[-1].as_string().endswith("\n\n"):
                array[-1].add(tomlkit.nl())  # a blank line between the last one and the new one
            table = tomlkit.table()
            for name, value in values.items():
                table.add(name, value)
            table.add(tomlkit.nl())
            array.append(table)
            return
        table = array[int(key)]
        for name in [k for k in table if k not in values]:
            del table[name]
        for name, value in values.items():
            set_value(table, name, value)

    return change


def remove(section: Section, key: str) -> Change:
    def change(document: tomlkit.TOMLDocument) -> None:
        found = document[section.name]
        if section.keyed:
            del found[key]
        else:
            del found[int(key)]
            if not len(found):
                del document[section.name]

    return change
