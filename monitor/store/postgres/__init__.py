"""The shared backend: the whole store in one PostgreSQL database
(`store = "postgresql://user:pass@host:5432/db"`, or `postgres://`), for an instance
whose history must live on a server, and later for several instances as one monitor.

- `store`: `PostgresStore`, the `Store`; reads on a small connection pool;
- `writer`: the one writer task that persists results (COPY) in batches (and events
  while the store fails), keeping what the database refuses for a retry; the hourly
  retention and the packing of finished days' rollups;
- `reads`: the SQL of every read;
- `schema`: the tables, the versioned migrations (under an advisory lock), connecting;
- `outbox`: the durable alert queue, on a synchronous connection, rows claimed with
  `FOR UPDATE SKIP LOCKED`;
- `members`: the membership rows and the sender's lease (synchronous, from the
  membership thread);
- `heartbeats`: the push heartbeats shared by replicas, numbered as they commit;
- `failures`: PostgreSQL's errors as short reasons ("database unreachable", "disk full", ...);
- `url`: the URL as messages show it (never the password).
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Settings
from monitor.errors import StoreError
from monitor.store.backend import Backend
from monitor.store.postgres.failures import reason
from monitor.store.postgres.schema import check_url, connect, migrate_url, schema_version
from monitor.store.postgres.store import PostgresStore
from monitor.store.postgres.url import SCHEMES, redacted


def _build(settings: Settings, *, observe: bool, clock: Callable[[], float]) -> PostgresStore:
    from monitor.store.registry import spool_for  # the registry imports this package

    spool = spool_for(settings) if observe else None  # the running monitor's, not a reader's
    return PostgresStore.for_settings(settings, observe=observe, clock=clock, spool=spool)


def _has_history(settings: Settings) -> bool:
    """Whether the database holds the monitor's tables with any target in them."""
    with connect(settings.store) as conn:
        try:
            if schema_version(conn) == 0:
                return False
            return conn.execute("SELECT EXISTS (SELECT 1 FROM targets)").fetchone() == (True,)
        except Exception as exc:
            raise StoreError(f"cannot read {redacted(settings.store)}: {exc}", reason(exc)) from exc


def _where(settings: Settings) -> str:
    return redacted(settings.store)


def _migrate(settings: Settings) -> tuple[int, int]:
    return migrate_url(settings.store)


def _check(settings: Settings, budget: float | None) -> bool:
    """Reachable, and at a schema version this monitor knows, within `check_url`'s own
    connection timeout whatever the budget (a database has no `quick_check`: the server
    finds damage itself, see `store`)."""
    check_url(settings.store)
    return True


BACKENDS = tuple(
    Backend(scheme=scheme, build=_build, has_history=_has_history, where=_where, migrate=_migrate, check=_check)
    for scheme in SCHEMES
)

__all__ = ["BACKENDS", "PostgresStore"]
