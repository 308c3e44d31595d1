"""The PostgreSQL schema, its versioned migrations and the connection helpers.

`MIGRATIONS` lists every step, oldest first; `meta.schema_version` says which a database
holds and `schema_migrations` when each step ran. `migrate(conn)` runs the missing steps
in one transaction under an advisory lock (`MIGRATION_LOCK`), so instances started
together migrate once: the second waits for the first, then finds nothing to do. An
older monitor refuses a newer database (`StoreError`) rather than corrupt it.

Every history table carries a `location` (a key of `locations`; 0 is `local`, the
only one until several locations share a database) in its primary key, so results,
rollups and events per location need no rewrite of a table later.

Versions:
1. `targets` and `locations` numbered; raw `results` (flags, whole microseconds);
   hourly `rollups` and their packed form by day, `rollup_days`; incident `events`;
   the monitor's `runs`; the `latest` result per target; admin `notes` and planned
   `maintenance`; the alert `outbox` (with claims) and its dedup memory `outbox_seen`.
2. `outbox_said`: each target's newest alert of each of `RESUME_KINDS` per notifier,
   never pruned, what the alert policy resumes from after a restart; filled from the
   outbox rows a version 1 database still holds.
3. the `audit` log.
4. what operators write for citizens (`protocols.Bulletins`): `posted_incidents`
   (declared incidents, and the titles of automatic ones), their `incident_updates`,
   and `announcements`.
5. Locations (`monitor.cluster`): `location_seen` (each location's sign of life and
   shortest interval), `location_states` (each location's state of each target it
   probes) and `events.locations` (the locations that saw a change, comma-separated).
6. on-call: `acks` (one per incident: target and its start), `mutes` (one per target)
   and `bot_offsets` (each chat bot's next update id).
7. citizens' e-mail `subscribers` and the queue of mails to them, `subscriber_mail`
   (`monitor.store.postgres.subscribers`); the key their links are signed with is a
   row of `meta`.
8. Several instances on one database (`monitor.cluster`): `members` (a row per running
   instance, renewed every few seconds), `leases` (the one sender's lease, with its
   expiry), and each incident event stored once (`events_once`: a batch written again
   after its commit went unacknowledged does not double its events).
9. `maintenance_notices`: the configuration's maintenance windows the subscribers were
   told of (`monitor.subscriptions.notices`), so a restart or another instance does not
   tell them again.
10. `location_states.change`: the number of the publication that wrote a row (from the
    sequence `location_changes`, indexed), so that each instance reads only the rows
    published since its last look (`monitor.store.postgres.locations`).
11. `oncall_changes`: one row counting the changes to `acks` and `mutes`, moved in each
    change's transaction, so that every instance reads them again only when one of them
    changed them (`monitor.alerting.oncall`).
12. `heartbeats`: the push heartbeats one instance of a cluster received, numbered from
    the sequence `heartbeat_changes` as they commit, for the owner of their target to
    read since the last number it read (`monitor.store.postgres.heartbeats`); indexed by
    target and number for a take-over's newest heartbeat of each target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from monitor.errors import StoreError
from monitor.store.postgres.failures import reason
from monitor.store.postgres.url import redacted
from monitor.store.records import RESUME_KINDS

# Result flags, packed into one column (as the SQLite backend packs them).
OK, DEGRADED, MAINTENANCE = 1, 2, 4
LOCAL = 0  # the key of the location `local`
MIGRATION_LOCK = 0x6D6F6E69746F72  # "monitor" as a number: the advisory lock of `migrate`
CONNECT_TIMEOUT = 10  # seconds
CHECK_TIMEOUT = 5  # seconds the check before a command starts waits for the server
LOOP_TIMEOUT = 3  # seconds a connection used on the event loop (events, outbox) waits to connect
# A dead server or a cut network is noticed by every session within seconds instead of
# TCP's quarter of an hour: data unacknowledged for 5 s ends the session, and an idle
# one is probed after 10 s. The URL's own values, if it has any, win.
SESSION = {"tcp_user_timeout": "5000", "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3"}
# A synchronous statement on the event loop must not wait long for a lock: the holder may
# be a transaction of another instance whose own loop waits on this one (a deadlock the
# server cannot see, as it runs through the clients). It fails instead, and the caller
# keeps what it wanted to write for a retry.
LOOP_LOCK_TIMEOUT = "2s"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


_V1 = """
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE schema_migrations (
    version integer PRIMARY KEY, applied_at double precision NOT NULL, description text NOT NULL);
CREATE TABLE locations (key smallint PRIMARY KEY, name text NOT NULL UNIQUE);
INSERT INTO locations VALUES (0, 'local');
CREATE TABLE targets (key integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE);
-- Columns ordered widest-aligned first within each row: no padding between them.
CREATE TABLE results (
    target integer NOT NULL, location smallint NOT NULL DEFAULT 0, flags smallint NOT NULL,
    at double precision NOT NULL, duration integer NOT NULL, status_code integer,
    reason text, detail text,
    PRIMARY KEY (target, location, at));
CREATE TABLE rollups (
    target integer NOT NULL, hour integer NOT NULL, location smallint NOT NULL DEFAULT 0,
    count integer NOT NULL, failures integer NOT NULL, degraded integer NOT NULL,
    maintenance integer NOT NULL, lat_count integer NOT NULL, lat_sum bigint NOT NULL,
    lat_min integer, lat_max integer, hist bytea,
    PRIMARY KEY (target, location, hour)) WITH (fillfactor = 80);
CREATE TABLE rollup_days (
    target integer NOT NULL, day integer NOT NULL, location smallint NOT NULL DEFAULT 0,
    hours bytea NOT NULL,
    PRIMARY KEY (target, location, day));
CREATE TABLE events (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, target integer NOT NULL,
    location smallint NOT NULL DEFAULT 0, at double precision NOT NULL, old text NOT NULL,
    new text NOT NULL, reason text NOT NULL, detail text NOT NULL);
CREATE INDEX events_by_target ON events (target, at, id);
CREATE INDEX events_by_time ON events (at);
CREATE TABLE runs (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, started double precision NOT NULL,
    last_seen double precision NOT NULL);
CREATE TABLE latest (
    target integer NOT NULL, location smallint NOT NULL DEFAULT 0, started double precision NOT NULL,
    result text NOT NULL, PRIMARY KEY (target, location));
CREATE TABLE notes (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, target text NOT NULL,
    at double precision NOT NULL, text text NOT NULL, author text NOT NULL);
CREATE INDEX notes_by_time ON notes (at);
CREATE TABLE maintenance (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, start double precision NOT NULL,
    "end" double precision NOT NULL, targets text[] NOT NULL, groups text[] NOT NULL,
    reason text NOT NULL);
CREATE TABLE outbox (
    seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, alert_id text NOT NULL,
    notifier text NOT NULL, target text NOT NULL, kind text NOT NULL, alert text NOT NULL,
    status text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0,
    created double precision NOT NULL, next_at double precision NOT NULL,
    done_at double precision, error text, claimed_by text, claimed_until double precision,
    UNIQUE (alert_id, notifier));
CREATE INDEX outbox_queue ON outbox (notifier, status, seq);
CREATE TABLE outbox_seen (
    alert_id text NOT NULL, notifier text NOT NULL, at double precision NOT NULL,
    PRIMARY KEY (alert_id, notifier));
CREATE INDEX outbox_seen_by_time ON outbox_seen (at);
"""

_V2 = f"""
CREATE TABLE outbox_said (
    target text NOT NULL, notifier text NOT NULL, kind text NOT NULL, seq bigint NOT NULL,
    alert text NOT NULL, PRIMARY KEY (target, notifier, kind));
INSERT INTO outbox_said
    SELECT DISTINCT ON (target, notifier, kind) target, notifier, kind, seq, alert FROM outbox
    WHERE kind IN ({", ".join(f"'{kind}'" for kind in RESUME_KINDS)})
    ORDER BY target, notifier, kind, seq DESC;
"""

_ONCALL = """
CREATE TABLE acks (
    target text NOT NULL, since double precision NOT NULL, at double precision NOT NULL,
    who text NOT NULL, note text NOT NULL, silences text NOT NULL, PRIMARY KEY (target, since));
CREATE TABLE mutes (
    target text PRIMARY KEY, start double precision NOT NULL, until double precision NOT NULL,
    who text NOT NULL, silences text NOT NULL);
CREATE TABLE bot_offsets (bot text PRIMARY KEY, next bigint NOT NULL);
"""

_V3 = """
CREATE TABLE audit (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at double precision NOT NULL,
    who text NOT NULL, action text NOT NULL, subject text NOT NULL, detail text NOT NULL);
"""

_V4 = """
CREATE TABLE posted_incidents (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, opened double precision NOT NULL,
    target text, targets text[] NOT NULL, title_id text, title_en text NOT NULL DEFAULT '',
    UNIQUE (target, opened));
CREATE TABLE incident_updates (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    incident bigint NOT NULL REFERENCES posted_incidents (id), at double precision NOT NULL,
    status text NOT NULL, text_id text NOT NULL, text_en text NOT NULL, author text NOT NULL);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident, at);
CREATE INDEX incident_updates_by_time ON incident_updates (at);
CREATE TABLE announcements (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, level text NOT NULL,
    text_id text NOT NULL, text_en text NOT NULL, start double precision NOT NULL,
    "end" double precision, created double precision NOT NULL);
"""

_LOCATIONS = """
CREATE TABLE location_seen (
    location text PRIMARY KEY, seen double precision NOT NULL, shortest double precision NOT NULL,
    offline boolean NOT NULL);
CREATE TABLE location_states (
    target text NOT NULL, location text NOT NULL, since double precision NOT NULL,
    at double precision NOT NULL, latency double precision, state text NOT NULL,
    reason text NOT NULL, detail text NOT NULL, PRIMARY KEY (target, location));
ALTER TABLE events ADD COLUMN locations text NOT NULL DEFAULT '';
"""

_SUBSCRIPTIONS = """
CREATE TABLE subscribers (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, address text NOT NULL UNIQUE,
    targets text NOT NULL, groups text NOT NULL, lang text NOT NULL,
    confirmed double precision NOT NULL);
CREATE TABLE subscriber_mail (
    seq bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, key text NOT NULL UNIQUE,
    subscriber bigint, recipient text NOT NULL, message text NOT NULL,
    status text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0,
    created double precision NOT NULL, next_at double precision NOT NULL,
    done_at double precision, error text, claimed_by text, claimed_until double precision);
CREATE INDEX subscriber_mail_queue ON subscriber_mail (status, seq);
"""

_MEMBERS = """
CREATE TABLE members (
    instance text PRIMARY KEY, location text NOT NULL, started double precision NOT NULL,
    renewed_at double precision NOT NULL);
CREATE TABLE leases (
    name text PRIMARY KEY, holder text NOT NULL, since double precision NOT NULL,
    expires_at double precision NOT NULL);
DELETE FROM events a USING events b
    WHERE a.id > b.id AND a.target = b.target AND a.location = b.location AND a.at = b.at
    AND a.old = b.old AND a.new = b.new;
CREATE UNIQUE INDEX events_once ON events (target, location, at, old, new);
"""

_NOTICES = """
CREATE TABLE maintenance_notices (
    key text PRIMARY KEY, starts double precision NOT NULL, ends double precision NOT NULL,
    targets text NOT NULL, groups text NOT NULL, reason text NOT NULL,
    announced double precision NOT NULL);
"""

# Rows already there count as the first publication; the sequence goes on after it.
_CHANGES = """
CREATE SEQUENCE location_changes START 2;
ALTER TABLE location_states ADD COLUMN change bigint NOT NULL DEFAULT 1;
CREATE INDEX location_states_by_change ON location_states (change);
"""

_ONCALL_CHANGES = """
CREATE TABLE oncall_changes (one integer PRIMARY KEY CHECK (one = 1), changes bigint NOT NULL);
INSERT INTO oncall_changes (one, changes) VALUES (1, 0);
"""

_HEARTBEATS = """
CREATE SEQUENCE heartbeat_changes;
CREATE TABLE heartbeats (
    change bigint PRIMARY KEY, target text NOT NULL, arrived double precision NOT NULL,
    down boolean NOT NULL, detail text NOT NULL, duration double precision NOT NULL,
    received_by text NOT NULL);
CREATE INDEX heartbeats_by_target ON heartbeats (target, change);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the first schema", _V1),
    Migration(2, "what the outbox said last about each target (outbox_said)", _V2),
    Migration(3, "the audit log (audit)", _V3),
    Migration(4, "incidents, updates and announcements for citizens", _V4),
    Migration(5, "locations: their signs of life, their states of each target, events' locations", _LOCATIONS),
    Migration(6, "on-call: acknowledgements, mutes, chat bot offsets", _ONCALL),
    Migration(7, "citizens' e-mail subscriptions and their mail queue", _SUBSCRIPTIONS),
    Migration(8, "several instances: members, the sender's lease, events stored once", _MEMBERS),
    Migration(9, "the maintenance windows the subscribers were told of", _NOTICES),
    Migration(10, "locations: each state row numbered by its publication, read since a number", _CHANGES),
    Migration(11, "on-call: the changes to acknowledgements and mutes counted (oncall_changes)", _ONCALL_CHANGES),
    Migration(12, "push heartbeats shared by the instances, read since a number", _HEARTBEATS),
)


def location_key(conn: psycopg.Connection[tuple[object, ...]], name: str) -> int:
    """The key of location `name` in `locations`, numbered on first use (under the
    migration lock: instances of new locations starting together take distinct keys)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "INSERT INTO locations (key, name) SELECT (SELECT COALESCE(MAX(key), 0) + 1 FROM locations), %s "
            "WHERE NOT EXISTS (SELECT 1 FROM locations WHERE name = %s)",
            (name, name),
        )
        row = conn.execute("SELECT key FROM locations WHERE name = %s", (name,)).fetchone()
    assert row is not None  # inserted above when missing
    return int(str(row[0]))


def schema_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The stored version; 0 for a database without the monitor's tables."""
    row = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(str(found[0])) if found else 0


def latest_version() -> int:
    return MIGRATIONS[-1].version


def refuse_newer(found: int, newest: int) -> None:
    """`StoreError` for a database migrated by a newer monitor than this one."""
    if found > newest:
        raise StoreError(
            f"the database has schema version {found}, newer than this monitor's ({newest}): upgrade the monitor",
            "database newer than this monitor",
        )


def migrate(conn: psycopg.Connection[tuple[object, ...]], steps: tuple[Migration, ...] | None = None) -> int:
    """Bring the database to the newest version of `steps` (default `MIGRATIONS`) in
    one transaction under the advisory lock; return the version it had."""
    steps = MIGRATIONS if steps is None else steps
    newest = steps[-1].version
    with conn.transaction():
        # Held until the commit: a second instance waits here, then finds it done.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        found = schema_version(conn)
        refuse_newer(found, newest)
        for step in steps:
            if step.version > found:
                conn.execute(step.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at, description) VALUES (%s, %s, %s)",
                    (step.version, time.time(), step.description),
                )
        if found < newest:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(newest),),
            )
    return found


def connect(url: str, name: str = "monitor", timeout: int = CONNECT_TIMEOUT) -> psycopg.Connection[tuple[object, ...]]:
    """A synchronous autocommit connection (transactions are explicit), shown as `name`
    in `pg_stat_activity`; `StoreError` naming the database without its password when
    it cannot be reached within `timeout` seconds."""
    try:
        return psycopg.connect(session(url), autocommit=True, connect_timeout=timeout, application_name=name)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to {redacted(url)}: {_first_line(exc)}", reason(exc)) from exc


def on_loop(conn: psycopg.Connection[tuple[object, ...]]) -> psycopg.Connection[tuple[object, ...]]:
    """`conn`, set up for synchronous calls on the event loop (`LOOP_LOCK_TIMEOUT`)."""
    try:
        conn.execute(f"SET lock_timeout = '{LOOP_LOCK_TIMEOUT}'")
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"cannot set up the session: {_first_line(exc)}", reason(exc)) from exc
    return conn


def session(url: str) -> str:
    """The URL as a connection string with the `SESSION` options it does not set itself."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error:  # connecting says what is wrong with it
        return url
    return make_conninfo(url, **{key: value for key, value in SESSION.items() if key not in given})


def migrate_url(url: str) -> tuple[int, int]:
    """Connect, migrate and close: (version found, version now)."""
    with connect(url, "monitor migrate") as conn:
        try:
            found = migrate(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot migrate {redacted(url)}: {_first_line(exc)}", reason(exc)) from exc
    return found, latest_version()


def check_url(url: str, timeout: int = CHECK_TIMEOUT) -> int:
    """Before a command starts (`Backend.check`): connect within `timeout` seconds and
    read the schema version (0 for a database `open` will create the schema in);
    `StoreError` when it cannot be reached or read, or is newer than this monitor."""
    with connect(url, "monitor check", timeout) as conn:
        try:
            found = schema_version(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot read {redacted(url)}: {_first_line(exc)}", reason(exc)) from exc
    refuse_newer(found, latest_version())
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
