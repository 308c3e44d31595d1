"""What each consumer needs from the store, as one protocol each; `Store` is all of them.

- `HistoryWriter`: the runtime's appends. They are queued and never block the probe
  loop: a backend persists them in batches.
- `HistoryReader`: the web app's, the report's and the metrics' reads. They are async and
  never scan raw results for long windows (rollups and events answer those).
- `Annotations`: what people add at runtime: incident notes, planned maintenance.
- `Timelines`: each target's state timeline, read once at start by what keeps
  availability in memory from then on (`monitor.metrics.uptime`).
- `Bulletins`: what operators write for citizens: declared incidents, updates on any
  incident, announcements.
- `OnCallRecords`: what on-call staff set at runtime (acknowledgements, mutes), with a
  change counter the instances sharing a store follow, and the chat bot's place in its
  update stream.
- `Audit`: who changed what, when (append-only; the admin view and `/admin/api/audit`).
- `Outbox`: the durable alert queue the dispatcher drains (`monitor.alerting.service`).
- `Locations`: what the instances of several locations tell each other through the
  shared store (`monitor.cluster`).
- `Subscribers`: citizens' confirmed e-mail subscriptions and the durable queue of the
  mails to them (`monitor.subscriptions`), apart from the alert outbox.
- `Membership`: the instances sharing the store (`monitor.cluster`): a row per instance
  renewed every few seconds, and the one sender's lease.
- `SharedHeartbeats`: push heartbeats received by any instance of a cluster, numbered
  in the order they were stored, for the owner of their target to judge.
- `Spool` (and `Spooling`, the store's side): the local file where a store on a database
  server keeps what waits for the database, so that a restart does not lose it.

A backend implements `Store` and registers itself in `monitor.store.registry`; every
command opens the store through `open_store(settings)`. Times are unix seconds (UTC);
`target_ids=None` means every target in the store. Availability is defined once, in
`monitor.store.records`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Protocol

from monitor.result import Event, Result, State
from monitor.store.records import (
    Ack,
    Announcement,
    AuditEntry,
    DayUptime,
    Entry,
    IncidentUpdate,
    LocationChanges,
    LocationSeen,
    LocationState,
    Mail,
    Member,
    Mute,
    Note,
    Notice,
    Outgoing,
    Period,
    PlannedMaintenance,
    PostedIncident,
    PushedHeartbeat,
    Rollup,
    StoredResult,
    StoreHealth,
    Subscriber,
    Uptime,
    Wording,
)

if TYPE_CHECKING:
    from monitor.notifiers.base import Alert
    from monitor.store.timeline import Segment


class HistoryWriter(Protocol):
    """The runtime's side: results and events in, the probe loop never waiting on the disk
    for a result. What the database refuses (disk full, I/O error, damage) is kept in
    memory and written once it takes writes again (`monitor.store.backlog`: events always,
    results up to a bound, the oldest dropped first and counted); `health()` says why."""

    def add_result(self, target_id: str, result: Result, maintenance: bool = False) -> None:
        """Queue one probe result (`maintenance`: taken inside a maintenance window)."""

    def add_event(self, event: Event) -> None:
        """Make one incident event durable before returning (a small synchronous
        transaction: events are rare), so the alert queued after it never outlives it in
        a crash; while the store fails, queue it for a retry instead."""

    async def flush(self) -> None:
        """Persist everything queued so far."""

    def healthy(self) -> bool:
        """`health().ok`."""
        ...

    def health(self) -> StoreHealth:
        """Whether writes succeed now, why not, and what waits in memory (for `/readyz`,
        the metrics and the storage alert)."""
        ...


class HistoryReader(Protocol):
    """The readers' side: states to resume from, availability, incidents, latency."""

    async def last_events(self) -> dict[str, Event]:
        """The latest event of each target: the state to resume from after a restart."""
        ...

    async def last_results(self) -> dict[str, Result]:
        """The latest result of each target (push heartbeats survive a restart this way)."""
        ...

    async def uptime(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Uptime]:
        """Availability of each target over a window (time after now counts as
        unmonitored). Reads events and runs only, never raw results."""
        ...

    async def daily(
        self, target_ids: Collection[str] | None, days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]:
        """`days` local calendar days ending with today (oldest first), one per bar."""
        ...

    async def periods(
        self,
        target_ids: Collection[str] | None,
        start: float,
        end: float,
        states: Collection[State] | None = None,
    ) -> list[Period]:
        """State periods overlapping a window (clipped to nothing: `start`/`end` are the
        real ones), oldest first; `states` filters, e.g. `{State.DOWN}`."""
        ...

    async def incidents(
        self,
        target_ids: Collection[str] | None,
        start: float,
        end: float,
        limit: int | None = None,
    ) -> list[Period]:
        """Incidents overlapping a window, newest first (at most `limit`): DOWN periods
        that maintenance does not end, with the windows inside them (see `Period`); each
        with its real start and end, however far outside the window."""
        ...

    async def events(
        self,
        target_ids: Collection[str] | None,
        start: float,
        end: float,
        limit: int | None = None,
    ) -> list[Event]:
        """Incident events in `[start, end)`, newest first (at most `limit`)."""
        ...

    async def results(self, target_id: str, start: float, end: float, limit: int | None = None) -> list[StoredResult]:
        """Raw results of one target in `[start, end)`, oldest first. Only the last
        `raw_retention` is kept: use `series` for longer ranges."""
        ...

    async def series(self, target_id: str, start: float, end: float, points: int = 300) -> list[Rollup]:
        """At most `points` buckets covering `[start, end)` for a latency chart: from raw
        results inside the raw window, from the hourly rollups beyond it."""
        ...

    async def rollups(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, list[Rollup]]:
        """The hourly rollups of each target for the hours overlapping `[start, end)`."""
        ...

    async def probe_stats(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Rollup]:
        """Each target's hourly rollups over a window merged into one (probe counts,
        latency p50/p95 via `Rollup.quantile`). Hour granularity at the edges."""
        ...

    async def target_ids(self) -> list[str]:
        """Every target the store has history for."""
        ...


class Annotations(Protocol):
    """What people add at runtime through the admin view."""

    async def add_note(self, target_id: str, at: float, text: str, author: str = "") -> Note:
        """Store an admin's note on a target's incident."""
        ...

    async def notes(self, target_ids: Collection[str] | None, start: float, end: float) -> list[Note]:
        """Notes in `[start, end)`, oldest first."""
        ...

    async def add_maintenance(
        self,
        start: float,
        end: float,
        targets: Sequence[str] = (),
        groups: Sequence[str] = (),
        reason: str = "",
    ) -> PlannedMaintenance:
        """Plan a maintenance window at runtime."""
        ...

    async def remove_maintenance(self, window_id: int) -> bool:
        """Delete a planned window; False if there was none with this id."""
        ...

    async def planned_maintenance(self, since: float) -> list[PlannedMaintenance]:
        """Planned windows ending after `since`, by start."""
        ...


class Bulletins(Protocol):
    """What operators write for citizens (the admin API, `monitor.web.admin.incidents`).
    Each write is committed before it returns. An automatic incident (a DOWN period of
    the history) has a record here only once it is given a title or an update, keyed by
    its target and the time it began."""

    async def declare_incident(self, targets: Sequence[str], title: Wording, at: float) -> PostedIncident:
        """Record an incident declared by hand about `targets`, opened at `at`."""
        ...

    async def automatic_incident(self, target: str, opened: float, title: Wording | None = None) -> PostedIncident:
        """The record of `target`'s incident that began at `opened` (with its updates),
        made when missing; its public title set to `title` when one is given."""
        ...

    async def add_incident_update(
        self, incident: int, at: float, status: str, text: Wording, author: str = ""
    ) -> IncidentUpdate:
        """Add a step to an incident's timeline (`status` one of `INCIDENT_STATUSES`)."""
        ...

    async def posted_incident(self, incident: int) -> PostedIncident | None:
        """One record with its updates; None if there is none with this id."""
        ...

    async def posted_incidents(self, since: float) -> list[PostedIncident]:
        """The records opened or updated since `since`, and every declared incident not
        resolved however old, by the time they opened; each with its updates."""
        ...

    async def add_announcement(
        self, level: str, text: Wording, start: float, end: float | None, created: float
    ) -> Announcement:
        """Store a banner (`level` one of `ANNOUNCEMENT_LEVELS`) shown from `start` to
        `end` (None: until removed)."""
        ...

    async def remove_announcement(self, announcement: int) -> bool:
        """Delete a banner; False if there was none with this id."""
        ...

    async def announcements(self, since: float) -> list[Announcement]:
        """Banners that end after `since` or never, by start (those to come too)."""
        ...


class OnCallRecords(Protocol):
    """Acknowledgements, mutes and the chat bot's update offset (`monitor.alerting.oncall`,
    `monitor.notifiers.telegrambot`). Every write commits before it returns: an
    acknowledgement or a mute survives a restart. The store is their one truth for
    every instance sharing it: each write that changes an acknowledgement or a mute
    also moves `oncall_changes` in the same transaction, so that an instance reads them
    again only when another one changed them."""

    async def add_ack(self, ack: Ack) -> Ack:
        """Keep an acknowledgement; of the same incident (target, since) the first one
        stays (whichever instance took it). Returns the one kept."""
        ...

    async def acks(self, since: float) -> list[Ack]:
        """Acknowledgements of incidents that began at or after `since`, oldest first."""
        ...

    async def set_mute(self, mute: Mute) -> None:
        """Mute a target (replacing its mute, if any)."""

    async def remove_mute(self, target_id: str) -> Mute | None:
        """End a target's mute; the mute that was removed, None if there was none."""
        ...

    async def mutes(self) -> list[Mute]:
        """Every mute kept, expired ones too until removed, by target."""
        ...

    async def oncall_changes(self) -> int:
        """How many changes to the acknowledgements and mutes were ever written: a
        number that moves with each one (never back), for a reader to compare with the
        one it last read."""
        ...

    async def bot_offset(self, bot: str) -> int | None:
        """The next update id to ask a chat bot for (`getUpdates`' offset), None at first."""
        ...

    async def set_bot_offset(self, bot: str, offset: int) -> None: ...


class Audit(Protocol):
    """The audit log: every change people make, kept with the history (pruned with
    nothing: it is small and it is the record)."""

    async def record_audit(self, entry: AuditEntry) -> None:
        """Append one entry."""

    async def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        """The newest `limit` entries, newest first."""
        ...


class Outbox(Protocol):
    """The durable alert queue: an alert is written here before anyone sends it, once
    per (alert id, notifier) ever, and leaves a notifier's queue in the order it came.
    Calls are synchronous and short (one small transaction each); errors of the
    backend are `monitor.errors.StoreError`. Not thread-safe: one event loop."""

    def open(self) -> None:
        """Create the outbox's tables when missing."""

    def close(self) -> None: ...

    def enqueue(self, alert: Alert, notifiers: Iterable[str]) -> list[str]:
        """Queue `alert` for each notifier that was never queued this alert id; return
        those. A "refresh" is not remembered and replaces the same target's refreshes
        still waiting: only the newest matters."""
        ...

    def head(self, notifier: str, skip: Collection[int] = ()) -> Entry | None:
        """The oldest pending alert of a notifier other than those in `skip` (an
        unreadable one is failed on the way)."""
        ...

    def adopt(self, entries: Sequence[Entry]) -> list[int | None]:
        """Write entries that were kept in memory while the outbox refused writes, in
        order and in one transaction, with the status and attempts they reached there
        (a delivered one stays delivered: nothing is sent twice); return each one's new
        `seq`, None where its alert id was already queued for that notifier."""
        ...

    def known(self, alert_id: str) -> set[str]:
        """The notifiers this alert id was ever queued for (a read)."""
        ...

    def latest(self, kinds: Collection[str]) -> dict[str, list[tuple[Alert, str]]]:
        """Per target, the newest alert of these kinds (of `SAID_KINDS`) queued for each
        notifier, as (alert, notifier), oldest first: what the alert policy last said
        about each target, to resume from after a restart. Never forgotten by `prune`."""
        ...

    def delivered(self, seq: int) -> None: ...

    def failed(self, seq: int, error: str) -> None: ...

    def retry(self, seq: int, next_at: float, error: str) -> None:
        """Count a failed attempt and try again at `next_at`."""

    def fail_orphans(self, configured: Iterable[str], error: str) -> int:
        """Fail pending alerts of notifiers no longer configured; return how many."""
        ...

    def queue_sizes(self, notifiers: Iterable[str] = ()) -> dict[str, int]:
        """Pending alerts per notifier; 0 for the named notifiers with none."""
        ...

    def entries(self, status: str | None = None, limit: int = 100) -> list[Entry]:
        """The newest entries (of one status): the admin view lists failed ones."""
        ...

    def prune(self) -> None:
        """Forget delivered and failed entries and dedup memory past their keep times."""


class Timelines(Protocol):
    """Each target's timeline as availability is computed from it (`monitor.store.timeline`)."""

    async def segments(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, list[Segment]]:
        """Each target's `timeline.segments` over `[start, end)`, oldest first: its states
        from its events, UNKNOWN where no run of the monitor covered the time. This
        process's own run counts as lasting until `end`. `HistoryReader.uptime` over any
        window inside `[start, end)` is what these segments add up to there."""
        ...


class Locations(Protocol):
    """Each instance's word to the others (`monitor.cluster.locations`): its location's
    sign of life and its state of each target it probes, replaced as a whole every few
    seconds (one small transaction); read back by every instance, the states only as
    far as they changed since the reader's last look."""

    @property
    def shared(self) -> bool:
        """Whether other instances may share this store (a database server's): then
        each replica publishes the states of the targets it probes for the others to
        show (`monitor.cluster.view`). False for a store of one instance."""
        ...

    async def publish_location(self, seen: LocationSeen, states: Sequence[LocationState]) -> None:
        """Replace `seen.location`'s row and its rows of these targets (others stay);
        the rows written take a change number higher than any a reader saw before (in
        the order the publications commit, whichever instance wrote them)."""

    async def locations_seen(self) -> list[LocationSeen]:
        """Every location the store heard of, by name."""
        ...

    async def location_changes(self, after: int = 0) -> LocationChanges:
        """The (target, location) rows published after change number `after` (0: every
        row), each with its location's `offline` now, and the newest change number."""
        ...


class Subscribers(Protocol):
    """Citizens' confirmed subscriptions and the durable queue of mails to them, kept
    apart from the alert outbox so that the on-call alert view never lists them and a
    subscriber crowd never delays an on-call alert. Calls are synchronous and short (one
    small transaction each), errors `monitor.errors.StoreError`; one event loop. An
    address is stored only once confirmed; it is compared in lower case."""

    def open(self) -> None:
        """Connect (and migrate the schema when needed)."""

    def close(self) -> None: ...

    def secret(self) -> bytes:
        """The key the links are signed with: made on first use, kept in the database
        (the same for every instance sharing it)."""
        ...

    def confirm(self, address: str, targets: Sequence[str], groups: Sequence[str], lang: str, at: float) -> Subscriber:
        """Add the address, or replace what it is subscribed to (its id stays)."""
        ...

    def remove(self, subscriber_id: int) -> bool:
        """Forget a subscriber and drop the mails still waiting for them; False if there
        was none with this id."""
        ...

    def subscribers(self) -> list[Subscriber]:
        """Every confirmed subscriber, oldest first."""
        ...

    def enqueue(self, mails: Iterable[Outgoing]) -> int:
        """Queue mails in one transaction, each unless its `key` was queued before;
        return how many were queued."""
        ...

    def next_mail(self) -> Mail | None:
        """The oldest mail still waiting (its `next_at` may lie ahead)."""
        ...

    def sent(self, seq: int) -> None: ...

    def failed(self, seq: int, error: str) -> None:
        """Give a mail up (a permanent refusal): kept as failed for a while, not retried."""

    def retry(self, seq: int, next_at: float, error: str) -> None:
        """Count a failed attempt and try again at `next_at`."""

    def pending(self) -> int:
        """How many mails wait."""
        ...

    def prune(self, before: float) -> int:
        """Forget the mails sent before `before`; return how many. A mail waiting or
        given up (failed) is never forgotten here: it was not delivered."""
        ...

    def notices(self) -> list[Notice]:
        """The configuration's maintenance windows the subscribers were told of and that
        are remembered still, by start."""
        ...

    def remember_notice(self, notice: Notice) -> None:
        """Remember that the subscribers were told of `notice` (again: replaced)."""

    def forget_notice(self, key: str) -> None:
        """Forget a notice (its window changed, was cancelled or is over)."""


class Membership(Protocol):
    """The instances sharing one store (`monitor.cluster`). Times are the database's
    clock, so instances whose clocks differ still agree on who is alive. A store of one
    instance (SQLite) answers that this instance is alone and holds the lease. Errors of
    the backend are `monitor.errors.StoreError`.

    The calls are synchronous and block: they run in the membership's own thread
    (`monitor.cluster.renewals`), on a connection of their own with deadlines of their
    own, never on the event loop, so that a busy loop never makes a live member look
    dead. One thread at a time calls them."""

    def renew(self, member: Member, dead_after: float) -> list[Member]:
        """Write `member`'s row as renewed now; return the members of its location whose
        rows were renewed within `dead_after` seconds (`member` among them), by instance."""
        ...

    def lease(self, holder: str, ttl: float) -> bool:
        """Take or keep the sender's lease for `ttl` seconds from now; True while `holder`
        holds it. When this process starts holding it (taken from a holder whose lease
        expired, or kept from this instance's own run before a crash), every outbox claim
        is given up: only the holder sends, so any claim left is a dead sender's."""
        ...

    def leave(self, instance: str) -> None:
        """Delete `instance`'s row and give up its lease: the others take over at once."""


class SharedHeartbeats(Protocol):
    """Push heartbeats shared by the instances of a cluster (`monitor.cluster.heartbeats`):
    the instance a job's push reached stores it, the one that owns the target reads the
    heartbeats stored since the last number it read and judges them. Only a store that
    several instances share (`shared`) keeps them; a store of one instance (SQLite)
    keeps none and its instance judges every push in memory. Errors are `StoreError`."""

    async def add_heartbeat(self, heartbeat: PushedHeartbeat) -> None:
        """Store `heartbeat` (its `change` is ignored: the store numbers it) and commit:
        once this returns, the owner will read it."""

    async def heartbeats_since(self, after: int, limit: int) -> list[PushedHeartbeat]:
        """At most `limit` heartbeats numbered after `after`, by number. A number is
        never read before a smaller one is: heartbeats are numbered as they commit."""
        ...

    async def heartbeat_mark(self) -> int:
        """The newest heartbeat's number (0 when there is none)."""
        ...

    async def latest_heartbeats(self, target_ids: Collection[str]) -> dict[str, PushedHeartbeat]:
        """The newest heartbeat of each of these targets that has one (a take-over's
        catching up: what the dead owner had not judged yet)."""
        ...

    async def prune_heartbeats(self, before: float) -> int:
        """Delete the heartbeats that arrived before `before`, except each target's
        newest; return how many."""
        ...


SpoolItem = tuple[str, Result, bool] | Event  # a result (target, result, in maintenance) or an event


class Spool(Protocol):
    """A local file where what waits for an unreachable database is kept: the writer's
    results and events, and the alerts the outbox's fallback holds. Read back at the
    next start; replaying it is harmless after a partial write (a result is keyed by its
    target, location and start; an event is stored once). Errors are `StoreError`."""

    def keep(self, items: Sequence[SpoolItem]) -> None:
        """Append these items (after those kept before)."""

    def load(self) -> list[SpoolItem]:
        """Everything kept, oldest first."""
        ...

    def clear(self) -> None:
        """The database took it all: forget the items."""

    def keep_alerts(self, entries: Sequence[Entry]) -> None:
        """Replace the held alerts with these (in order, with their status)."""

    def held_alerts(self) -> list[Entry]:
        """The held alerts kept, in order (their `seq` means nothing)."""
        ...

    def close(self) -> None: ...


class Spooling(Protocol):
    """A store that keeps what waits for its database in a local `Spool`."""

    def spool(self) -> Spool | None:
        """Its spool; None for a store whose files are local already (SQLite)."""
        ...


class Store(
    HistoryWriter,
    HistoryReader,
    Annotations,
    Timelines,
    OnCallRecords,
    Audit,
    Bulletins,
    Locations,
    Membership,
    SharedHeartbeats,
    Spooling,
    Protocol,
):
    """A whole backend: the history, the annotations, the timelines, the on-call records, the audit log,
    the bulletins, the locations' words, the membership and the outbox on one database."""

    async def open(self) -> None:
        """Create or migrate the schema and start the writer."""

    async def close(self) -> None:
        """Flush what is queued and close."""

    async def prune(self, now: float) -> int:
        """Retention: delete raw results older than `raw_retention`; return how many.
        The running monitor's store does this by itself every hour; rollups are kept up
        to date as results arrive, so no rollup job is needed either."""
        ...

    def outbox(self, clock: Callable[[], float]) -> Outbox:
        """The durable outbox on the same database (not yet opened)."""
        ...

    def subscribers(self, clock: Callable[[], float]) -> Subscribers:
        """The subscriptions and their mail queue on the same database (not yet opened)."""
        ...
