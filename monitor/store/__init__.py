"""The history: results, rollups, incident events, notes, maintenance and the alert outbox.

- `records`: the frozen records every backend answers with, and availability's one
  definition;
- `protocols`: what each consumer needs (`HistoryWriter`, `HistoryReader`,
  `Annotations`, `Outbox`, `Membership`) and `Store`, all of them;
- `rollup`, `timeline`: the backend-independent maths (hourly accumulators; state
  periods and time-based availability from events and runs);
- `backlog`: what a backend's writer keeps in memory while its writes fail;
- `backend`, `registry`: the backend seam and `open_store(settings)`;
- `sqlite/`: the embedded default backend.

The records and protocols are re-exported here; `open_store` lives in
`monitor.store.registry` (importing a backend is not needed to read a record).
"""

from monitor.store.protocols import (
    Annotations,
    HistoryReader,
    HistoryWriter,
    Membership,
    Outbox,
    Spool,
    Spooling,
    SpoolItem,
    Store,
)
from monitor.store.records import (
    DELIVERED,
    EPHEMERAL,
    FAILED,
    LATENCY_BASE,
    LATENCY_BUCKETS,
    PENDING,
    RESUME_KINDS,
    DayUptime,
    Entry,
    Member,
    Note,
    Period,
    PlannedMaintenance,
    Rollup,
    StoredResult,
    StoreHealth,
    Uptime,
    bucket_bounds,
    latency_bucket,
)

__all__ = [
    "DELIVERED",
    "EPHEMERAL",
    "FAILED",
    "LATENCY_BASE",
    "LATENCY_BUCKETS",
    "PENDING",
    "RESUME_KINDS",
    "Annotations",
    "DayUptime",
    "Entry",
    "HistoryReader",
    "HistoryWriter",
    "Member",
    "Membership",
    "Note",
    "Outbox",
    "Period",
    "PlannedMaintenance",
    "Rollup",
    "Spool",
    "SpoolItem",
    "Spooling",
    "Store",
    "StoreHealth",
    "StoredResult",
    "Uptime",
    "bucket_bounds",
    "latency_bucket",
]
