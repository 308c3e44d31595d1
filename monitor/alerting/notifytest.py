"""`monitor notify-test [NOTIFIER...]`: one test message through each notifier, now.

Sent directly (not through the outbox: the point is to see what happens), one attempt
each, all notifiers at once. Prints one line per notifier (delivered, or failed with the
reason) in the configured language, and returns 0 when every one delivered, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import httpx

from monitor.alerting.service import build_notifiers, http_client, texts_for
from monitor.config import Config
from monitor.errors import NotifyError
from monitor.notifiers.base import Alert, Notifier, NotifyContext
from monitor.notifiers.texts import Texts

EXIT_DELIVERED, EXIT_FAILED = 0, 1


def test_alert(config: Config, now: float) -> Alert:
    public_url = config.settings.public_url
    return Alert(
        id=f"test:{now:.0f}",
        kind="test",
        target="notify-test",
        name=config.settings.title,
        group="",
        old="UNKNOWN",
        new="UP",
        reason="ok",
        at=now,
        url=public_url or None,
    )


async def run_notify_test(
    config: Config, names: Sequence[str] = (), out: TextIO | None = None, client: httpx.AsyncClient | None = None
) -> int:
    """Send the test message through `names` (all notifiers when empty); print and return
    the exit code."""
    out = out or sys.stdout
    texts = texts_for(config)
    unknown = [n for n in names if n not in config.notifiers]
    for name in unknown:
        print(texts.render("notify_test.txt.j2", name=name, outcome="unknown"), file=out)
    chosen = [n for n in (names or config.notifiers) if n in config.notifiers]
    if not chosen and not unknown:
        print(texts.render("notify_test.txt.j2", outcome="none"), file=out)
        return EXIT_FAILED
    results = await send_tests(config, chosen, client) if chosen else {}
    for name, error in results.items():
        _report(out, texts, name, config.notifiers[name].type, error)
    return EXIT_FAILED if unknown or any(results.values()) else EXIT_DELIVERED


async def send_tests(
    config: Config, names: Sequence[str] = (), client: httpx.AsyncClient | None = None
) -> dict[str, str | None]:
    """Send the test message through each configured notifier of `names` (all when
    empty) at once: notifier -> None when delivered, else why not (`monitor preflight
    --send-test` reports these too)."""
    chosen = [n for n in (names or config.notifiers) if n in config.notifiers]
    own = client is None
    client = client or http_client()
    texts = texts_for(config)
    try:
        notifiers = build_notifiers(config, NotifyContext(client, texts))
        alert = test_alert(config, time.time())
        results = await asyncio.gather(*(_one(notifiers[n], alert, texts) for n in chosen))
    finally:
        if own:
            await client.aclose()
    return dict(zip(chosen, results, strict=True))


async def _one(notifier: Notifier, alert: Alert, texts: Texts) -> str | None:
    """None when delivered, else why not: in the configured language where the words
    are ours (the peer's answer and the system's error stay as they were said)."""
    try:
        await notifier.send(alert)
    except NotifyError as exc:
        if exc.text:
            return texts.words(exc.text, **exc.params)
        return str(exc) or type(exc).__name__
    except Exception as exc:  # a notifier's bug is still a failed delivery to report
        return texts.words("alert.notify_error.internal", error=f"{type(exc).__name__}: {exc}")
    return None


def _report(out: TextIO, texts: Texts, name: str, kind: str, error: str | None) -> None:
    outcome = "delivered" if error is None else "failed"
    print(texts.render("notify_test.txt.j2", name=name, type=kind, outcome=outcome, error=error or ""), file=out)
