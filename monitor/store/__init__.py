"""The history: results, rollups, incident events, notes, maintenance and the alert outbox.

- `records`: the frozen records every backend answers with, and availability's one
  definition;
- `protocols`: what each consumer needs (`HistoryWriter`, `HistoryReader`,
  `Annotations`, `Audit`, `Bulletins`, `Locations`, `Outbox`) and `Store`, all of them;
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
    Audit,
    Bulletins,
    HistoryReader,
    HistoryWriter,
    Locations,
    OnCallRecords,
    Outbox,
    Store,
)
from monitor.store.records import (
    ANNOUNCEMENT_LEVELS,
    DELIVERED,
    EPHEMERAL,
    FAILED,
    INCIDENT_STATUSES,
    LATENCY_BASE,
    LATENCY_BUCKETS,
    PENDING,
    RESUME_KINDS,
    Ack,
    Announcement,
    AuditEntry,
    DayUptime,
    Entry,
    IncidentUpdate,
    LocationSeen,
    LocationState,
    Mute,
    Note,
    Period,
    PlannedMaintenance,
    PostedIncident,
    Rollup,
    StoredResult,
    StoreHealth,
    Uptime,
    Wording,
    bucket_bounds,
    latency_bucket,
)

__all__ = [
    "ANNOUNCEMENT_LEVELS",
    "DELIVERED",
    "EPHEMERAL",
    "FAILED",
    "INCIDENT_STATUSES",
    "LATENCY_BASE",
    "LATENCY_BUCKETS",
    "PENDING",
    "RESUME_KINDS",
    "Ack",
    "Annotations",
    "Announcement",
    "Audit",
    "AuditEntry",
    "Bulletins",
    "DayUptime",
    "Entry",
    "HistoryReader",
    "HistoryWriter",
    "IncidentUpdate",
    "LocationSeen",
    "LocationState",
    "Locations",
    "Mute",
    "Note",
    "OnCallRecords",
    "Outbox",
    "Period",
    "PlannedMaintenance",
    "PostedIncident",
    "Rollup",
    "Store",
    "StoreHealth",
    "StoredResult",
    "Uptime",
    "Wording",
    "bucket_bounds",
    "latency_bucket",
]
