"""The SQLite schema and its migrations.

`meta.schema_version` says which version a database holds. `migrate(conn)` creates a new
database at `SCHEMA_VERSION` or runs each step from the stored version up, in one
transaction: a newer monitor opens an older database; an older monitor refuses a newer
one (`StoreError`) rather than corrupt it.

Versions:
1. raw `results` and `events` keyed by the target's id as text (the first release).
2. targets numbered (`targets`), raw results with flags, hourly `rollups`, the
   monitor's `runs` (what time was monitored), `latest` result per target, admin
   `notes` and planned `maintenance`. Rollups and one run covering the old history are
   rebuilt from version 1's rows.
3. the `audit` log.
4. what operators write for citizens (`protocols.Bulletins`): `posted_incidents`
   (declared incidents, and the titles of automatic ones), their `incident_updates`,
   and `announcements`.
5. locations (`monitor.cluster`): `results.location` (the location that probed),
   `events.locations` (those that saw a change, comma-separated), `location_seen` and
   `location_states` (what the locations sharing a store tell each other).
6. on-call: `acks` (one per incident: target and its start), `mutes` (one per target)
   and `bot_offsets` (each chat bot's next update id).

7. citizens' e-mail `subscribers` and the queue of mails to them, `subscriber_mail`
   (`monitor.store.subscribersql`); the key their links are signed with is a row of
   `meta`.
8. `maintenance_notices`: the configuration's maintenance windows the subscribers were
   told of (`monitor.subscriptions.notices`), so a restart or another instance does
   not tell them again.
9. `location_states.change`: the number of the publication that wrote a row (indexed),
   so that a reader reads only the rows published since its last look.
10. `oncall_changes`: one row counting the changes to `acks` and `mutes`, moved in each
    change's transaction, so that the on-call desk reads them again only when they
    changed (`monitor.alerting.oncall`).

Versions after 2 are additive steps in `STEPS` (the version a step brings, its SQL), run
in order after a new database is created at version 2 or an old one is brought there."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from monitor.errors import StoreError
from monitor.store.rollup import HOUR, Accumulator

# Result flags, packed into one integer column. Raw durations are whole microseconds and
# a result is keyed by (target, start time): no rowid, no second index.
OK, DEGRADED, MAINTENANCE = 1, 2, 4

_V2 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE targets (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE TABLE results (
    target INTEGER NOT NULL, at REAL NOT NULL, flags INTEGER NOT NULL, duration INTEGER NOT NULL,
    reason TEXT, status_code INTEGER, detail TEXT, PRIMARY KEY (target, at)) WITHOUT ROWID;
CREATE TABLE rollups (
    target INTEGER NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL,
    failures INTEGER NOT NULL, degraded INTEGER NOT NULL, maintenance INTEGER NOT NULL,
    lat_count INTEGER NOT NULL, lat_sum INTEGER NOT NULL, lat_min INTEGER, lat_max INTEGER,
    hist BLOB, PRIMARY KEY (target, hour)) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY, target INTEGER NOT NULL, at REAL NOT NULL, old TEXT NOT NULL,
    new TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX events_by_target ON events (target, at);
CREATE INDEX events_by_time ON events (at);
CREATE TABLE runs (id INTEGER PRIMARY KEY, started REAL NOT NULL, last_seen REAL NOT NULL);
CREATE TABLE latest (target INTEGER PRIMARY KEY, result TEXT NOT NULL);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, at REAL NOT NULL, text TEXT NOT NULL,
    author TEXT NOT NULL);
CREATE INDEX notes_by_time ON notes (at);
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY, start REAL NOT NULL, "end" REAL NOT NULL, targets TEXT NOT NULL,
    groups TEXT NOT NULL, reason TEXT NOT NULL);
"""

_V3 = """
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL);
"""

_V4 = """
CREATE TABLE posted_incidents (
    id INTEGER PRIMARY KEY, opened REAL NOT NULL, target TEXT, targets TEXT NOT NULL,
    title_id TEXT, title_en TEXT NOT NULL DEFAULT '', UNIQUE (target, opened));
CREATE TABLE incident_updates (
    id INTEGER PRIMARY KEY, incident INTEGER NOT NULL REFERENCES posted_incidents (id),
    at REAL NOT NULL, status TEXT NOT NULL, text_id TEXT NOT NULL, text_en TEXT NOT NULL,
    author TEXT NOT NULL);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident, at);
CREATE INDEX incident_updates_by_time ON incident_updates (at);
CREATE TABLE announcements (
    id INTEGER PRIMARY KEY, level TEXT NOT NULL, text_id TEXT NOT NULL, text_en TEXT NOT NULL,
    start REAL NOT NULL, "end" REAL, created REAL NOT NULL);
"""

_LOCATIONS = """
ALTER TABLE results ADD COLUMN location TEXT NOT NULL DEFAULT 'local';
ALTER TABLE events ADD COLUMN locations TEXT NOT NULL DEFAULT '';
CREATE TABLE location_seen (
    location TEXT PRIMARY KEY, seen REAL NOT NULL, shortest REAL NOT NULL, offline INTEGER NOT NULL);
CREATE TABLE location_states (
    target TEXT NOT NULL, location TEXT NOT NULL, state TEXT NOT NULL, since REAL NOT NULL,
    at REAL NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, latency REAL,
    PRIMARY KEY (target, location)) WITHOUT ROWID;
"""

_ONCALL = """
CREATE TABLE acks (
    target TEXT NOT NULL, since REAL NOT NULL, at REAL NOT NULL, who TEXT NOT NULL,
    note TEXT NOT NULL, silences TEXT NOT NULL, PRIMARY KEY (target, since));
CREATE TABLE mutes (
    target TEXT PRIMARY KEY, start REAL NOT NULL, until REAL NOT NULL, who TEXT NOT NULL,
    silences TEXT NOT NULL);
CREATE TABLE bot_offsets (bot TEXT PRIMARY KEY, next INTEGER NOT NULL);
"""

_SUBSCRIPTIONS = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE, targets TEXT NOT NULL,
    groups TEXT NOT NULL, lang TEXT NOT NULL, confirmed REAL NOT NULL);
CREATE TABLE subscriber_mail (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, subscriber INTEGER,
    recipient TEXT NOT NULL, message TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, next_at REAL NOT NULL,
    done_at REAL, error TEXT, claimed_by TEXT, claimed_until REAL);
CREATE INDEX subscriber_mail_queue ON subscriber_mail (status, seq);
"""

_NOTICES = """
CREATE TABLE maintenance_notices (
    key TEXT PRIMARY KEY, starts REAL NOT NULL, ends REAL NOT NULL, targets TEXT NOT NULL,
    groups TEXT NOT NULL, reason TEXT NOT NULL, announced REAL NOT NULL);
"""

# Rows already there count as the first publication.
_CHANGES = """
ALTER TABLE location_states ADD COLUMN change INTEGER NOT NULL DEFAULT 1;
CREATE INDEX location_states_by_change ON location_states (change);
"""

_ONCALL_CHANGES = """
CREATE TABLE oncall_changes (one INTEGER PRIMARY KEY CHECK (one = 1), changes INTEGER NOT NULL);
INSERT INTO oncall_changes (one, changes) VALUES (1, 0);
"""

# (version, SQL) after version 2, oldest first.
STEPS: tuple[tuple[int, str], ...] = (
    (3, _V3),
    (4, _V4),
    (5, _LOCATIONS),
    (6, _ONCALL),
    (7, _SUBSCRIPTIONS),
    (8, _NOTICES),
    (9, _CHANGES),
    (10, _ONCALL_CHANGES),
)
SCHEMA_VERSION = STEPS[-1][0]


def connect(path: Path, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to the database file, for the store's threads and the outbox alike:
    autocommit mode (transactions are explicit), WAL journal, waiting up to `timeout`
    seconds for another writer's lock."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The stored version; 0 for an empty database."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to `SCHEMA_VERSION`; return the version it had."""
    found = _check(schema_version(conn))
    if found == SCHEMA_VERSION:
        return found
    first: dict[int, Callable[[sqlite3.Connection], None]] = {0: _create, 1: _from_v1}
    try:
        conn.execute("BEGIN IMMEDIATE")
        # Again under the write lock: another process (`monitor run` and `monitor report`
        # started together) may have migrated since, and a step must never run twice.
        found = _check(schema_version(conn))
        if found < SCHEMA_VERSION:
            if found < 2:
                first[found](conn)
            for version, sql in STEPS:
                if version > found:
                    _script(conn, sql)
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        conn.execute("COMMIT")
    except (sqlite3.Error, StoreError) as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"cannot migrate the database from version {found}: {exc}") from exc
    return found


def migrate_file(path: Path) -> tuple[int, int]:
    """Create or migrate the file (the outbox's tables too): (version found, version now)."""
    from monitor.store.sqlite.outbox import SQLiteOutbox

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        found = migrate(conn)
    finally:
        conn.close()
    outbox = SQLiteOutbox(path)
    outbox.open()
    outbox.close()
    return found, SCHEMA_VERSION


def _check(found: int) -> int:
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {found}, newer than this monitor's "
            f"({SCHEMA_VERSION}): upgrade the monitor"
        )
    return found


def _create(conn: sqlite3.Connection) -> None:
    _script(conn, _V2)


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run each statement (`executescript` would commit the migration's transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _from_v1(conn: sqlite3.Connection) -> None:
    """Version 1 -> 2: number the targets, flag the results, rebuild rollups and one run
    spanning the old history (it was monitored as far as anyone can tell)."""
    conn.execute("ALTER TABLE results RENAME TO results_v1")
    conn.execute("ALTER TABLE events RENAME TO events_v1")
    _create(conn)
    conn.execute("INSERT INTO targets (id) SELECT target FROM results_v1 UNION SELECT target FROM events_v1")
    conn.execute(
        "INSERT INTO results (target, at, flags, duration, reason, status_code, detail) "
        "SELECT t.key, r.at, CASE WHEN r.ok THEN 1 ELSE 0 END, "
        "CAST(r.duration * 1e6 AS INTEGER), r.reason, NULL, r.detail FROM results_v1 r "
        "JOIN targets t ON t.id = r.target ORDER BY r.at"
    )
    conn.execute(
        "INSERT INTO events (target, at, old, new, reason, detail) SELECT t.key, e.at, e.old, "
        "e.new, e.reason, COALESCE(e.detail, '') FROM events_v1 e JOIN targets t "
        "ON t.id = e.target ORDER BY e.at"
    )
    _rebuild_rollups(conn)
    span = conn.execute(
        "SELECT MIN(a), MAX(b) FROM (SELECT MIN(at) a, MAX(at) b FROM results UNION ALL "
        "SELECT MIN(at), MAX(at) FROM events)"
    ).fetchone()
    if span and span[0] is not None:
        conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", span)
    conn.execute("DROP TABLE results_v1")
    conn.execute("DROP TABLE events_v1")


def _rebuild_rollups(conn: sqlite3.Connection) -> None:
    accs: dict[tuple[int, int], Accumulator] = {}
    for target, at, flags, duration in conn.execute("SELECT target, at, flags, duration FROM results"):
        acc = accs.setdefault((target, int(at // HOUR)), Accumulator())
        acc.add(bool(flags & OK), bool(flags & DEGRADED), bool(flags & MAINTENANCE), duration / 1e6)
    conn.executemany(
        "INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(t, h, *acc.row()) for (t, h), acc in accs.items()],
    )
