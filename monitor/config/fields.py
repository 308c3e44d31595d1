"""The keys a table of `targets.toml` may hold, learnt from the code that reads them.

Every key is read through a `Table` accessor, and reading declares it (`Table.declared`:
its accessor and default). `target_fields(kind)` runs the loader's own reader of a
`[targets.ID]` table, the common keys and then the kind's `parse`, on a table holding
only a URL of the kind's scheme (or `kind = "..."` for a passive kind), and collects what
was read. A key read only when another is set (snmp's v3 keys once `username` is) is
found by reading again with every key found so far set to a sample of its type, until
nothing new appears. `notifier_fields(type)` does the same for `[notifiers.NAME]`,
`array_fields("watch" | "maintenance" | "duty")` for a table of `[[watch]]`,
`[[maintenance]]` or `[[duty]]`, `roster_fields()` for `[rosters.NAME]`,
`settings_fields()` for `[monitor]` (`connectivity` a `check_list`: each check a URL or
a table), `defaults_fields()` for `[defaults]` (the keys a target inherits, as a
target reads them) and `subscriptions_fields()` for `[subscriptions]` (its mail server's
keys as the e-mail notifier reads them, `password` a secret).

So the admin UI's form for a kind comes from the kind's parser: a new probe kind or
notifier type gets its form, named by its TOML keys, without UI code. A field is
`secret` when the kind says so (`ProbeKind.secrets`, `NotifierKind.secrets`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.config.reader import Problems, Table, format_duration

# A sample value of each accessor's type, to read a table "with everything set".
_SAMPLES: dict[str, Any] = {
    "text": "x",
    "boolean": True,
    "integer": 1,
    "number": 1.0,
    "duration": "1s",
    "text_list": ["x"],
    "int_list": [1],
    "file": "x",
    "mapping": {"x": "x"},
    "text_mapping": {"x": "x"},
    "raw": "x",
}
ROUNDS = 4
SEED_NAME = "new"  # the id of the table read to learn its keys
# The keys every target has, in the order a form shows them (then the kind's own).
COMMON = (
    "name",
    "group",
    "description",
    "url",
    "kind",
    "interval",
    "timeout",
    "failure_threshold",
    "success_threshold",
    "degraded_after",
    "down_after",
    "notify",
    "depends_on",
    "public",
    "external",
    "cert_warn_days",
    "paused",
)


@dataclass(frozen=True)
class Field:
    """One key: its TOML name, the accessor type that reads it (`text`, `integer`,
    `number`, `boolean`, `duration`, `text_list`, `int_list`, `file`, `mapping`,
    `text_mapping`, `time`, `check_list` (`[monitor] connectivity`: URLs or tables), or
    `raw` for a key read as any TOML value), its default,
    whether it holds a secret, and whether it is one every target has."""

    key: str
    type: str
    default: Any = None
    secret: bool = False
    common: bool = False


def discover(read: Callable[[Table], object], seed: dict[str, Any], path: str) -> dict[str, tuple[str, Any]]:
    """Every key `read` reads from a table that holds `seed`, then everything it found."""
    data = dict(seed)
    found: dict[str, tuple[str, Any]] = {}
    for _ in range(ROUNDS):
        table = Table(data, path, Problems("<form>"))
        # A parser surprised by a sample value: keep what it read before.
        with contextlib.suppress(Exception):
            read(table)
        declared = dict(table.declared)
        for name in table.asked - set(declared):
            declared[name] = ("raw", None)
        new = {k: v for k, v in declared.items() if k not in found}
        found.update(new)  # defaults as the first reading, with only the seed set, saw them
        if not new:
            break
        for name, (kind, _) in new.items():
            if name not in data and kind in _SAMPLES:
                data[name] = _SAMPLES[kind]
    return found


@functools.cache
def target_fields(kind_name: str) -> tuple[Field, ...]:
    """The keys of a `[targets.ID]` table of kind `kind_name`: the common ones first."""
    from monitor.config import loader
    from monitor.probes import PROBES

    kind = PROBES[kind_name]
    seed: dict[str, Any] = {"url": f"{kind.schemes[0]}://example.invalid"} if kind.schemes else {"kind": kind_name}

    def read(t: Table) -> None:
        loader._read_target(SEED_NAME, t, Table({}, "defaults", t.problems), ("127.0.0.1:8080",))

    found = discover(read, seed, "targets.new")
    if kind.schemes:
        found.pop("kind", None)  # the URL's scheme says it
    return _ordered(found, set(kind.secrets), COMMON)


@functools.cache
def notifier_fields(type_name: str) -> tuple[Field, ...]:
    """The keys of a `[notifiers.NAME]` table of `type = type_name`."""
    from monitor.config import loader
    from monitor.notifiers import NOTIFIERS

    kind = NOTIFIERS[type_name]
    found = discover(lambda t: loader._read_notifier(SEED_NAME, t), {"type": type_name}, "notifiers.new")
    return _ordered(found, set(kind.secrets), ("type", "events", "repeat_every", "escalate_after", "escalate_to"))


@functools.cache
def array_fields(section: str) -> tuple[Field, ...]:
    """The keys of one table of `[[watch]]`, `[[maintenance]]` or `[[duty]]`."""
    from zoneinfo import ZoneInfo

    from monitor.config import duty, loader

    readers: dict[str, Callable[[Table, ZoneInfo], object]] = {
        "watch": loader._read_watch,
        "maintenance": loader._read_maintenance,
        "duty": lambda t, zone: duty.read_shift(t, zone, {}, {}),
    }
    found = discover(lambda t: readers[section](t, ZoneInfo("UTC")), {}, f"{section}[0]")
    return _ordered(found, set(), ())


@functools.cache
def roster_fields() -> tuple[Field, ...]:
    """The keys of a `[rosters.NAME]` table."""
    from monitor.config.duty import read_roster

    return _ordered(discover(lambda t: read_roster(SEED_NAME, t), {}, "rosters.new"), set(), ())


# `[monitor]`'s keys in the order its form shows them: what people read first, what
# needs a restart last.
SETTINGS_ORDER = (
    "title",
    "language",
    "timezone",
    "public_url",
    "heartbeat_url",
    "connectivity",
    "raw_retention",
    "listen",
    "metrics_listen",
    "data_dir",
    "store",
    "location",
)


@functools.cache
def settings_fields() -> tuple[Field, ...]:
    """The keys of `[monitor]`."""
    from pathlib import Path

    from monitor.config import loader

    found = discover(lambda t: loader._read_settings(t, Path(".")), {}, "monitor")
    return tuple(dataclasses.replace(f, common=False) for f in _ordered(found, set(), SETTINGS_ORDER))


@functools.cache
def defaults_fields() -> tuple[Field, ...]:
    """The keys of `[defaults]`: those a target inherits, typed and defaulted as a
    target reads them."""
    from monitor.config import loader

    by_key = {f.key: f for f in target_fields("http")}
    return tuple(dataclasses.replace(by_key[k], common=False) for k in loader._DEFAULTABLE if k in by_key)


# `[subscriptions]`' keys in the order its form shows them: on or off, then the server.
SUBSCRIPTIONS_ORDER = ("enabled", "host", "port", "security", "from", "username", "password")


@functools.cache
def subscriptions_fields() -> tuple[Field, ...]:
    """The keys of `[subscriptions]`: `enabled`, then the mail server's keys, read (as
    the loader reads them once `enabled` is true) by the e-mail notifier's own parser."""
    from pathlib import Path

    from monitor.config import loader
    from monitor.notifiers import NOTIFIERS

    def read(t: Table) -> None:
        loader._read_subscriptions(t, loader._read_settings(Table({}, "monitor", t.problems), Path(".")))

    found = discover(read, {"enabled": True}, "subscriptions")
    secrets = set(NOTIFIERS["email"].secrets)
    return tuple(dataclasses.replace(f, common=False) for f in _ordered(found, secrets, SUBSCRIPTIONS_ORDER))


def _ordered(found: dict[str, tuple[str, Any]], secrets: set[str], common: tuple[str, ...]) -> tuple[Field, ...]:
    first = [k for k in common if k in found]
    rest = [k for k in found if k not in common]
    return tuple(
        Field(k, found[k][0], _plain(found[k][1], found[k][0]), secret=k in secrets, common=k in common)
        for k in first + rest
    )


def _plain(value: Any, kind: str) -> Any:
    """A default as a form shows it, in the file's own words: a duration as `30s`, a
    boolean as `true`, a list one item after another; the table's own name (a target's
    `name` defaults to its id) as nothing."""
    if isinstance(value, frozenset | set | tuple | list):
        return ", ".join(str(v) for v in sorted(value)) or None
    if kind == "duration" and isinstance(value, int | float):
        return format_duration(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value == SEED_NAME else value
