"""`Subscriptions`: what the web routes and the runtime call.

- `request(address, targets, groups, lang)` queues the confirmation request (double
  opt-in): nothing is stored about the address until its link is opened, so the answer
  is the same whether the address is known or not;
- `confirm(token)` stores the subscriber; `unsubscribe(token)` forgets them;
- `on_event(event, target)` (a runtime listener): a public target subscribed to going
  DOWN, and recovering (UP or DEGRADED after DOWN; through maintenance too);
- `on_maintenance(window)`, `on_maintenance_removed(window)`: planned maintenance added
  at runtime, and removed before its start;
- `on_configuration(windows)`: the configuration's `[[maintenance]]` windows, at the
  start and at each reload (the sender's): a window not told of before is announced, one
  told of is announced again when its times change and as cancelled when it goes before
  its start (`monitor.subscriptions.notices`; what was told is kept in the store);
- `send_incident_update(...)`: an update on an incident, for the incident-update path
  to call (ARCHITECTURE.md);
- `prune()`: forget the mails sent more than `KEEP_SENT_SECONDS` ago (the runtime's
  housekeeping, hourly); waiting and failed ones stay.

The fan-out (reading the subscribers, writing each one's message, queueing them in one
transaction) runs in a worker thread on a connection of its own, one at a time, so a
thousand subscribers never hold the event loop; the web's calls and the sender use the
loop's connection. Each mail's key says what it is about and whom it is for, so an
event fanned out twice (a restart, two instances on one database) is still one mail.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.log import kv
from monitor.notifiers.email import EmailSpec
from monitor.result import Event, State
from monitor.store import IncidentUpdate, Notice, Outgoing, PostedIncident, Subscriber, Wording
from monitor.subscriptions import notices, tokens
from monitor.subscriptions.delivery import STOP_SECONDS, MailSender
from monitor.subscriptions.mails import Mails, localized
from monitor.subscriptions.tokens import CONFIRM_SECONDS, Request

if TYPE_CHECKING:
    from monitor.config import Config, Maintenance, Target
    from monitor.store import PlannedMaintenance, Store

log = logging.getLogger("monitor.subscriptions")
RECOVERED = (State.UP, State.DEGRADED)
UPDATE_STATUSES = ("investigating", "identified", "monitoring", "resolved")
ADMIN_LIST = 200  # subscribers listed on the admin view (all are counted)
KEEP_SENT_SECONDS = 30 * 86400.0  # how long a sent mail is kept (its key: never sent twice)


class Subscriptions:
    """Citizens' subscriptions of one monitor; see the module docstring. `open()` and
    `start()` before use, `stop()` at the end."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.config, self.clock = config, clock
        self.book = store.subscribers(clock)
        self._fan_book = store.subscribers(clock)
        self.mails = self._mails(config)
        self.sender = MailSender(self.book, self._spec(config), clock=clock)
        self._fan_lock = asyncio.Lock()  # one fan-out at a time on the loop's side
        self._fan_guard = threading.Lock()  # held by the thread using `_fan_book`
        self._notice_lock = asyncio.Lock()  # one look at the maintenance windows at a time
        self._tasks: set[asyncio.Task[int]] = set()
        self._down_since: dict[str, float] = {}

    @staticmethod
    def _spec(config: Config) -> EmailSpec:
        spec = config.subscriptions.spec if config.subscriptions is not None else None
        if not isinstance(spec, EmailSpec):
            raise ValueError("[subscriptions] is not enabled")
        return spec

    def _mails(self, config: Config) -> Mails:
        settings = config.settings
        return Mails(settings.public_url or "", settings.title, self._spec(config).sender, settings.timezone)

    def open(self) -> None:
        self.book.open()
        self._fan_book.open()

    def start(self) -> None:
        self.sender.start()

    async def stop(self, deadline: float = STOP_SECONDS) -> None:
        """Let the fan-outs under way finish (their mails are durable once queued), stop
        the sender and close the tables, within about twice `deadline` seconds. A
        fan-out still running then is cancelled; a worker thread still writing its mails
        keeps the fan-out's connection, which is left to it rather than closed under it."""
        busy = set(self._tasks)
        if busy:
            _, late = await asyncio.wait(busy, timeout=deadline)
            if late:
                log.error("queueing subscriber mail did not finish before the stop", extra=kv(fan_outs=len(late)))
                for task in late:
                    task.cancel()
                await asyncio.wait(late, timeout=deadline)
        await self.sender.stop(deadline)
        self.book.close()
        if self._fan_guard.acquire(blocking=False):
            try:
                self._fan_book.close()
            finally:
                self._fan_guard.release()

    def busy(self) -> bool:
        """Whether mails are being made and queued in the background now (a fan-out, a
        look at the maintenance windows)."""
        return bool(self._tasks)

    def fanning(self) -> bool:
        """Whether a worker thread is writing a fan-out's mails now."""
        return self._fan_guard.locked()

    def reload(self, config: Config) -> None:
        """A new configuration (still with subscriptions enabled)."""
        self.config, self.mails = config, self._mails(config)
        self.sender.update(self._spec(config))

    # -- the citizens' side -------------------------------------------------------------

    def choice(self, targets: Collection[str], groups: Collection[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The public targets and groups among those asked for, in the configuration's
        order (anything else is dropped: a private id is never confirmed by a mail)."""
        public = [t for t in self.config.targets.values() if t.public]
        chosen_targets = tuple(t.id for t in public if t.id in targets)
        chosen_groups = tuple(dict.fromkeys(t.group for t in public if t.group and t.group in groups))
        return chosen_targets, chosen_groups

    def request(self, address: str, targets: Collection[str], groups: Collection[str], lang: str) -> None:
        """Queue the confirmation request for `address` (already checked by the caller)."""
        now = self.clock()
        chosen_targets, chosen_groups = self.choice(targets, groups)
        request = Request(address, chosen_targets, chosen_groups, lang, now + CONFIRM_SECONDS)
        token = tokens.confirm_token(self.book.secret(), request)
        link = self.mails.link("/subscribe/confirm", lang, token=token)
        names = [*(self.config.targets[tid].name for tid in chosen_targets), *chosen_groups]
        letter = self.mails.confirmation(lang, link, names, int(CONFIRM_SECONDS // 3600))
        key = f"confirm:{tokens.digest(token)}"
        message = self.mails.write(letter, address, tokens.digest(key), lang, None, now)
        self.book.enqueue([Outgoing(key, None, address, message)])
        self.sender.wake()

    def confirm(self, token: str) -> Subscriber | None:
        """Store the subscriber a valid confirmation link asks for; None for a bad link."""
        request = tokens.read_confirm(self.book.secret(), token, self.clock())
        if request is None:
            return None
        targets, groups = self.choice(request.targets, request.groups)
        return self.book.confirm(request.address, targets, groups, request.lang, self.clock())

    def unsubscribe(self, token: str) -> bool | None:
        """Forget the subscriber of an unsubscribe link: True, or False when they were
        gone already; None for a link that is not one of ours."""
        subscriber = tokens.read_unsubscribe(self.book.secret(), token)
        if subscriber is None:
            return None
        return self.book.remove(subscriber)

    def unsubscribe_token_valid(self, token: str) -> bool:
        return tokens.read_unsubscribe(self.book.secret(), token) is not None

    def unsubscribe_link(self, subscriber: Subscriber) -> str:
        token = tokens.unsubscribe_token(self.book.secret(), subscriber.id)
        return self.mails.link("/unsubscribe", subscriber.lang, token=token)

    # -- what is sent -------------------------------------------------------------------

    def on_event(self, event: Event, target: Target) -> None:
        """The runtime's listener: a DOWN, and the recovery after it."""
        if not target.public:
            return
        if event.new is State.DOWN and event.old is not State.DOWN:
            self._down_since[target.id] = event.at
            self._spawn(self._send_event("down", event, target, since=event.at))
        elif event.new in RECOVERED and (event.old is State.DOWN or target.id in self._down_since):
            since = self._down_since.pop(target.id, None)
            self._spawn(self._send_event("up", event, target, since=since))

    def on_maintenance(self, window: PlannedMaintenance) -> None:
        """Planned maintenance was added (the admin API): tell who it concerns."""
        covered = [t for t in self.config.targets.values() if t.public and window.covers(t)]
        if covered and window.end > self.clock():
            self._spawn(self._send_notice("maintenance", f"maintenance:{window.id}", window, covered))

    def on_maintenance_removed(self, window: PlannedMaintenance) -> None:
        """Planned maintenance was removed (the admin API): before its start, the
        subscribers told of it by `on_maintenance` hear it is called off."""
        covered = [t for t in self.config.targets.values() if t.public and window.covers(t)]
        if covered and self.clock() < window.start:
            about = f"maintenance-cancelled:{window.id}"
            self._spawn(self._send_notice("maintenance_cancelled", about, window, covered))

    def on_configuration(self, windows: Sequence[Maintenance]) -> None:
        """A configuration was loaded (the start, a reload): announce its maintenance
        windows as `announce_maintenance` says, in the background."""
        self._spawn(self.announce_maintenance(windows))

    async def announce_maintenance(self, windows: Sequence[Maintenance]) -> int:
        """Mail what the module docstring says of the configuration's `windows`; returns
        how many mails were queued. The mails are queued before the store remembers the
        notice: a crash in between queues them again under the same keys (once)."""
        async with self._notice_lock:
            now = self.clock()
            todo = notices.plan([notices.Window.of(w) for w in windows], self.book.notices(), now)
            queued = 0
            for tell in todo.tell:
                queued += await self._tell(tell)
                if tell.before is not None:
                    self.book.forget_notice(tell.before.key)
                if tell.what != notices.CANCELLED:
                    self.book.remember_notice(tell.window.notice(now))
                log.info(
                    "maintenance told to subscribers",
                    extra=kv(what=tell.what, start=tell.window.start, end=tell.window.end),
                )
            for key in todo.forget:
                self.book.forget_notice(key)
            return queued

    async def _tell(self, tell: notices.Tell) -> int:
        window, before = tell.window, tell.before
        covered = [t for t in self.config.targets.values() if t.public and window.covers(t)]
        if not covered:
            return 0
        if tell.what == notices.NEW:
            return await self._send_notice("maintenance", f"maintenance:{window.key}", window, covered)
        assert before is not None  # a change and a cancellation replace a notice
        if tell.what == notices.CHANGED:
            about = f"maintenance-changed:{window.key}:{before.key}"
            return await self._send_notice("maintenance_changed", about, window, covered, before)
        return await self._send_notice("maintenance_cancelled", f"maintenance-cancelled:{before.key}", window, covered)

    def prune(self) -> int:
        """Forget the mails sent more than `KEEP_SENT_SECONDS` ago; returns how many."""
        return self.book.prune(self.clock() - KEEP_SENT_SECONDS)

    async def on_incident_update(self, incident: PostedIncident, update: IncidentUpdate) -> None:
        """The runtime's incident listener (`Monitor.on_incident_update`): each update an
        operator posts, mailed once to the subscribers of the incident's public targets,
        under its public title when it has one."""
        title = _languages(incident.title) if incident.title is not None else None
        await self.send_incident_update(
            f"update:{update.id}", incident.targets, update.status, _languages(update.text), title, update.at
        )

    async def send_incident_update(
        self,
        update_id: str,
        targets: Sequence[str],
        status: str,
        text: Mapping[str, str],
        title: Mapping[str, str] | None = None,
        at: float | None = None,
    ) -> int:
        """The incident-update path's hook: mail an update (`status` one of
        `UPDATE_STATUSES`; `text` and `title` by language, `id` always given) to the
        subscribers of the affected public `targets`; `update_id` makes it once per
        subscriber however often it is called. Returns how many mails were queued."""
        if status not in UPDATE_STATUSES:
            raise ValueError(f"unknown incident status {status!r}")
        affected = [self.config.targets[tid] for tid in targets if tid in self.config.targets]
        affected = [t for t in affected if t.public]
        if not affected:
            return 0
        when = self.clock() if at is None else at

        def make(subscriber: Subscriber) -> Outgoing | None:
            concerned = [t for t in affected if subscriber.covers(t)]
            if not concerned:
                return None
            lang = subscriber.lang
            headline = localized(title, lang) or concerned[0].name
            page = self.mails.link(f"/targets/{concerned[0].id}", lang) if len(concerned) == 1 else self._home(lang)
            return self._outgoing(
                subscriber,
                f"update:{update_id}",
                "update",
                headline=headline,
                status=status,
                text=localized(text, lang),
                at=when,
                names=[t.name for t in concerned],
                page=page,
            )

        return await self._fan_out(make)

    async def _send_event(self, kind: str, event: Event, target: Target, since: float | None) -> int:
        def make(subscriber: Subscriber) -> Outgoing | None:
            if not subscriber.covers(target):
                return None
            page = self.mails.link(f"/targets/{target.id}", subscriber.lang)
            return self._outgoing(
                subscriber,
                f"{kind}:{target.id}:{event.at:.6f}",
                kind,
                name=target.name,
                group=target.group,
                since=since,
                at=event.at,
                page=page,
            )

        return await self._fan_out(make)

    async def _send_notice(
        self,
        kind: str,
        about: str,
        window: PlannedMaintenance | notices.Window,
        covered: list[Target],
        before: Notice | None = None,
    ) -> int:
        """A maintenance notice (`kind` names its template) to whom it concerns."""

        def make(subscriber: Subscriber) -> Outgoing | None:
            concerned = [t.name for t in covered if subscriber.covers(t)]
            if not concerned:
                return None
            return self._outgoing(
                subscriber,
                about,
                kind,
                start=window.start,
                end=window.end,
                names=concerned,
                reason=window.reason,
                before=before,
            )

        return await self._fan_out(make)

    def _home(self, lang: str) -> str:
        return self.mails.link("/", lang)

    def _outgoing(self, subscriber: Subscriber, about: str, kind: str, **context: object) -> Outgoing:
        key = f"{about}:{subscriber.id}"
        unsubscribe = self.unsubscribe_link(subscriber)
        lang = subscriber.lang
        letter = self.mails.update(
            lang, kind, unsubscribe, title=self.config.settings.title, home=self._home(lang), **context
        )
        message = self.mails.write(letter, subscriber.address, tokens.digest(key), lang, unsubscribe, self.clock())
        return Outgoing(key, subscriber.id, subscriber.address, message)

    async def _fan_out(self, make: Callable[[Subscriber], Outgoing | None]) -> int:
        self.book.secret()  # read on the loop's connection: the thread only signs with it

        def work() -> int:
            with self._fan_guard:
                mails = [mail for s in self._fan_book.subscribers() if (mail := make(s)) is not None]
                return self._fan_book.enqueue(mails) if mails else 0

        async with self._fan_lock:
            queued = await asyncio.to_thread(work)
        if queued:
            self.sender.wake()
        return queued

    def _spawn(self, job: Coroutine[object, object, int]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[int]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("queueing subscriber mail failed", extra=kv(error=str(task.exception())))

    # -- the admin view -----------------------------------------------------------------

    def overview(self) -> dict[str, object]:
        """For the admin view: how many subscribers, the newest `ADMIN_LIST` with their
        addresses masked, the queue."""
        subscribers = self.book.subscribers()
        return {
            "enabled": True,
            "count": len(subscribers),
            "subscribers": [
                {"address": mask(s.address), "targets": list(s.targets), "groups": list(s.groups), "lang": s.lang}
                for s in subscribers[-ADMIN_LIST:]
            ],
            "pending": self.book.pending(),
            "sent": self.sender.counts["sent"],
            "failed": self.sender.counts["failed"],
        }


def mask(address: str) -> str:
    """`w***@d***.go.id`: enough for an admin to tell two apart, not to write to one."""
    local, _, domain = address.partition("@")
    host, dot, rest = domain.partition(".")
    return f"{local[:1]}***@{host[:1]}***{dot}{rest}"


def _languages(wording: Wording) -> dict[str, str]:
    return {"id": wording.id, **({"en": wording.en} if wording.en else {})}
