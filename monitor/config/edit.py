"""Changing `targets.toml` from the admin UI or API, so that the file stays the truth.

`ConfigFile(path).write(change, expected, who)` applies `change` (a function editing the
parsed document) with **tomlkit**, so the comments, order and formatting of everything it
does not touch stay byte for byte; a changed value keeps its line's comment. Then:

1. **conflict**: when `expected` (the file's SHA-256 as the form or script saw it) is no
   longer the file's, nothing is written and `Conflict` carries the other change as a
   unified diff (from the text the form was opened on, when this process served it:
   `remember`, else just the fact);
2. **validation**: the new text is loaded by `load_config`, the same validator as
   `monitor validate`, from a temporary file beside the real one (relative paths resolve
   the same); any problem raises `Rejected` with every problem, key paths as in the
   real file, and nothing is written;
3. **backup**: the previous bytes go to `targets.toml.N` (N one more than the highest
   kept; the `KEEP` newest are kept);
4. **write**: a temporary file in the same folder renamed over the file the path
   resolves to (atomic; the mode is kept), and the `Written` outcome carries the diff
   for the audit log. The caller reloads (as SIGHUP would) and records the audit entry.

No diff ever shows a password hash (`[admins.NAME] password_hash`, in the audit log, on a
conflict): each argon2 hash in one reads `"…"`, on an added line `"…(changed)"`.

A folder the monitor may not write (the validation's temporary file, the backup, the
new file) is `Unwritable` (a `Rejected` with that one problem): nothing is changed.

Writes are serialised by a lock, so two saves at once cannot both pass step 1.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Comment, Item, Table, Whitespace

from monitor.config.loader import load_config
from monitor.config.model import Config
from monitor.errors import ConfigError, Problem

KEEP = 10  # numbered backups kept
REMEMBERED = 32  # texts kept by digest, to show what changed under an open form
Change = Callable[[tomlkit.TOMLDocument], None]


class Conflict(Exception):
    """The file changed since `expected` was read; `diff` shows the other change."""

    def __init__(self, diff: str) -> None:
        super().__init__("the file was changed since the form was opened")
        self.diff = diff


class Rejected(Exception):
    """The changed file would not validate; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class Unwritable(Rejected):
    """The folder or the file cannot be written (permissions, a read-only file system):
    nothing was changed; the one problem says why."""


@dataclass(frozen=True)
class Written:
    """A change on disk: the new configuration, the diff, where the old file went."""

    config: Config
    diff: str
    backup: Path
    digest: str


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ConfigFile:
    """The configuration file as the admin side edits it (see the module docstring)."""

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.env = env
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, str] = OrderedDict()

    def read(self) -> tuple[str, str]:
        """The file's text and digest, remembered for a later conflict's diff."""
        data = self.path.read_bytes()
        text, digest = data.decode("utf-8"), digest_of(data)
        self.remember(digest, text)
        return text, digest

    def remember(self, digest: str, text: str) -> None:
        self._seen[digest] = text
        self._seen.move_to_end(digest)
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)

    def write(self, change: Change, expected: str | None = None, env: Mapping[str, str] | None = None) -> Written:
        """Apply `change` (see the module docstring); `env` the environment to validate
        with (the file's `${NAME}`s), by default this one's. A file or folder that cannot
        be written raises `Unwritable`, with nothing changed."""
        try:
            return self._write(change, expected, env)
        except OSError as exc:
            where = exc.filename or self.path
            message = f"cannot write {where}: {exc.strerror or exc} (the monitor's user needs to write this folder)"
            raise Unwritable([Problem(str(self.path), "", message)]) from exc

    def _write(self, change: Change, expected: str | None, env: Mapping[str, str] | None) -> Written:
        with self._lock:
            real = self.path.resolve()
            before = real.read_bytes()
            old_text = before.decode("utf-8")
            if expected is not None and digest_of(before) != expected:
                seen = self._seen.get(expected)
                raise Conflict(_diff(seen, old_text, "as the form saw it", "as it is now") if seen is not None else "")
            document = tomlkit.parse(old_text)
            change(document)
            new_text = tomlkit.dumps(document)
            config = self.check(new_text, env)
            backup = _backup(real, before)
            _replace(real, new_text.encode("utf-8"))
            digest = digest_of(new_text.encode("utf-8"))
            self.remember(digest, new_text)
            return Written(config, _diff(old_text, new_text, "before", "after"), backup, digest)

    def preview(self, change: Change, env: Mapping[str, str] | None = None) -> Config:
        """The configuration `change` would make, validated, without writing it."""
        document = tomlkit.parse(self.path.read_text(encoding="utf-8"))
        change(document)
        return self.check(tomlkit.dumps(document), env)

    def check(self, text: str, env: Mapping[str, str] | None = None) -> Config:
        """`text` validated as the file would be (`Rejected` with every problem)."""
        real = self.path.resolve()
        fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".check", dir=real.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            loaded = load_config(name, env=env if env is not None else self.env)
        except ConfigError as exc:
            raise Rejected([Problem(str(self.path), p.path, p.message, p.line) for p in exc.problems]) from exc
        finally:
            os.unlink(name)
        return dataclasses.replace(loaded, path=self.path, digest=digest_of(text.encode("utf-8")))


def _diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), old_name, new_name)
    return "".join(_without_hashes(line) for line in lines)


def _without_hashes(line: str) -> str:
    if line.startswith(("+++", "---")):
        return line
    shown = HASH_CHANGED if line.startswith("+") else HASH_HIDDEN
    return _HASH.sub(shown, line)


# An argon2 hash as TOML quotes it (basic or literal string), or bare.
_HASH = re.compile(r"""(["']?)\$argon2(?:id|i|d)\$[^\s"']*\1""")
HASH_HIDDEN = '"…"'
HASH_CHANGED = '"…(changed)"'


def _backup(real: Path, data: bytes) -> Path:
    numbers = sorted(int(p.name.rsplit(".", 1)[1]) for p in real.parent.glob(f"{real.name}.*") if _numbered(p, real))
    backup = real.with_name(f"{real.name}.{(numbers[-1] if numbers else 0) + 1}")
    backup.write_bytes(data)
    for old in numbers[: max(0, len(numbers) + 1 - KEEP)]:
        real.with_name(f"{real.name}.{old}").unlink(missing_ok=True)
    return backup


def _numbered(path: Path, real: Path) -> bool:
    return path.name[len(real.name) + 1 :].isdigit()


def _replace(real: Path, data: bytes) -> None:
    mode = real.stat().st_mode & 0o7777
    fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".new", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(name, mode)
        os.replace(name, real)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


# --- changes: what the admin side does to the document --------------------------------


def targets_table(document: tomlkit.TOMLDocument) -> Table:
    """`[targets]` (usually only implied by its `[targets.ID]` tables)."""
    if "targets" not in document:
        document.add("targets", tomlkit.table(is_super_table=True))
    found = document["targets"]
    assert isinstance(found, Table)
    return found


def set_table(parent: Table | tomlkit.TOMLDocument, name: str, values: Mapping[str, Any]) -> None:
    """`parent[name]` holds exactly `values`: an unchanged value keeps its text, a
    changed one its line's comment, a new table goes at the end of its parent (before
    the comment lines that close the parent's last table: they head what follows)."""
    if name not in parent:
        table = tomlkit.table()
        for key, value in values.items():
            table.add(key, value)
        tail = _closing_comments(parent)
        for item in tail or [tomlkit.nl()]:
            table.value.append(None, item)
        parent.add(name, table)
        return
    table = parent[name]
    assert isinstance(table, Table)
    for key in [k for k in table if k not in values]:
        del table[key]
    for key, value in values.items():
        set_value(table, key, value)


def _closing_comments(parent: Table | tomlkit.TOMLDocument) -> list[Item]:
    """Take the blank and comment lines ending `parent`'s last table, when a comment is
    among them (a table's trailing comment introduces the next one in the file)."""
    last = next((v for v in reversed(list(parent.values())) if isinstance(v, Table)), None)
    if last is None or not isinstance(parent, Table):
        return []
    body = last.value.body
    start = len(body)
    while start and body[start - 1][0] is None and isinstance(body[start - 1][1], Comment | Whitespace):
        start -= 1
    if not any(isinstance(item, Comment) for _, item in body[start:]):
        return []
    tail = [item for _, item in body[start:]]
    del body[start:]
    return tail


def set_value(table: Table, key: str, value: Any) -> None:
    """`table[key] = value`, leaving an equal value's text alone and keeping a changed
    value's comment."""
    old = table.get(key)
    if old is not None and _plain(old) == value:
        return
    item = tomlkit.item(value)
    if isinstance(old, Item) and old.trivia.comment:
        item.comment(old.trivia.comment.lstrip("# "))
        item.trivia.comment_ws = old.trivia.comment_ws  # the comment stays where it was
    table[key] = item


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value
