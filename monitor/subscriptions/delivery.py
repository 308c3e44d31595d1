"""`MailSender`: the one worker draining the subscriber mail queue (`Subscribers`).

It takes the oldest waiting mail, hands it to the SMTP server through the e-mail
notifier's own sending code (`monitor.notifiers.email.submit`: the same keys, the same
TLS and the same classification of the server's answers) and records the outcome:
sent; a permanent refusal (5xx: no such mailbox) -> failed, never retried; anything
else (the server down, 4xx, a timeout) -> tried again after an exponential backoff
(`base` doubling up to `cap`, ±20 %). Mails leave in the order they were queued, so an
outage's recovery never reaches a subscriber before its start, and a failing server
holds the queue back: it delays mail, it never drops any. Delivery is at least once.
The queue is apart from the alert outbox: the on-call alert view never lists these
mails, and a crowd of subscribers never delays an on-call alert.

**Stopping.** `stop()` returns within `STOP_SECONDS` whatever the worker is doing. On
Python 3.11 `asyncio.wait_for` swallows a cancellation that arrives in the loop turn its
awaited future completes in (aiosmtplib waits for every server reply so, and a `wake()`
just before `stop()` ended this worker's own wait so): the worker then ran on and
`stop()` awaited it forever. So the worker waits with `asyncio.timeout` (which never
swallows one), checks a stop flag at each turn, and `stop()` cancels again until the
task is done or its deadline passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Callable
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

from monitor.errors import PermanentNotifyError, StoreError
from monitor.log import kv
from monitor.notifiers.email import EmailSpec, submit, tls_context
from monitor.store import Mail, Subscribers

log = logging.getLogger("monitor.subscriptions")
STORE_RETRY_SECONDS = 5.0
STOP_SECONDS = 5.0  # the longest `stop()` waits for the worker
RECANCEL_SECONDS = 0.1  # a swallowed cancellation is repeated this often while stopping


class MailSender:
    """See the module docstring; `wake()` after queueing. `counts` holds how many were
    "sent" and "failed" (for the admin view)."""

    def __init__(
        self,
        book: Subscribers,
        spec: EmailSpec,
        *,
        clock: Callable[[], float] = time.time,
        base: float = 5.0,
        cap: float = 600.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.book, self.spec, self.clock = book, spec, clock
        self.base, self.cap, self.rng = base, cap, rng
        self.counts: dict[str, int] = {"sent": 0, "failed": 0}
        self._tls: ssl.SSLContext | None = None
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def update(self, spec: EmailSpec) -> None:
        """A reloaded configuration's server."""
        if spec != self.spec:
            self.spec, self._tls = spec, None
            self.wake()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._work(), name="subscriber-mail")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, deadline: float = STOP_SECONDS) -> bool:
        """End the worker (a mail being handed over is sent again later: at least once);
        False if it was still running at `deadline` seconds (logged)."""
        task, self._task = self._task, None
        if task is None:
            return True
        self._stopping = True
        end = asyncio.get_running_loop().time() + deadline
        while not task.done():
            left = end - asyncio.get_running_loop().time()
            if left <= 0:
                log.error("the subscriber mail worker did not stop", extra=kv(deadline=f"{deadline:g}s"))
                return False
            task.cancel()
            await asyncio.wait({task}, timeout=min(RECANCEL_SECONDS, left))
        if not task.cancelled() and task.exception() is not None:
            log.error("the subscriber mail worker failed", extra=kv(error=str(task.exception())))
        return True

    def wake(self) -> None:
        self._event.set()

    async def _work(self) -> None:
        while not self._stopping:
            try:
                await self._drain()
            except StoreError as exc:
                log.error("subscriber mail queue unavailable", extra=kv(error=str(exc)))
                await asyncio.sleep(STORE_RETRY_SECONDS)

    async def _drain(self) -> None:
        while not self._stopping:
            mail = self.book.next_mail()
            wait = None if mail is None else mail.next_at - self.clock()
            if mail is None or (wait is not None and wait > 0):
                self._event.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):  # not `wait_for`: see the module doc
                        await self._event.wait()
                continue
            await self._deliver(mail)

    async def _deliver(self, mail: Mail) -> None:
        if self._tls is None:
            self._tls = tls_context(self.spec)
        try:
            await submit(self.spec, _message(mail.message), self._tls, [mail.recipient])
        except PermanentNotifyError as exc:
            self.book.failed(mail.seq, str(exc))
            self.counts["failed"] += 1
            log.error("subscriber mail refused", extra=kv(mail=mail.seq, error=str(exc)))
        except Exception as exc:  # transient, or a bug: keep the mail
            delay = self.backoff(mail.attempts + 1)
            self.book.retry(mail.seq, self.clock() + delay, str(exc) or type(exc).__name__)
            log.warning(
                "subscriber mail delayed",
                extra=kv(mail=mail.seq, attempt=mail.attempts + 1, retry_in=f"{delay:.1f}s", error=str(exc)),
            )
        else:
            self.book.sent(mail.seq)
            self.counts["sent"] += 1
            log.info("subscriber mail sent", extra=kv(mail=mail.seq, attempts=mail.attempts + 1))

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1`: base·2^(n-1), capped, ±20 %."""
        delay = min(self.cap, self.base * 2.0 ** min(attempt - 1, 30))
        return delay * (1 + 0.2 * (2 * self.rng() - 1))


def _message(text: str) -> EmailMessage:
    parsed: Any = message_from_string(text, policy=policy.default)
    return parsed  # type: ignore[no-any-return]
