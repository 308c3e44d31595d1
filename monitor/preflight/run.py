"""`monitor preflight`: will everything hold until the watch period ends?

The window is the `[[watch]]` named by `--watch`, else the current one, else the next
to start. The command reads the stored history through the store seam (read-only beside
a running `monitor run`), the dead-man's switch's saved state and the machine, and —
what only it does — reads now the expiry dates with none stored (certificates of TLS
targets, domains' registrations: one probe each, bounded by the target's timeout) and,
with `--send-test`, sends a test message through every notifier. Exit 0 when no row is a problem, 1 otherwise, 2 for a
bad window (an invalid configuration exits 2 before this runs).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from monitor.alerting.deadman import STATE_FILE, load_state
from monitor.alerting.notifytest import send_tests
from monitor.config import Config, Target
from monitor.errors import StoreError
from monitor.preflight.checks import expires, run_checks
from monitor.preflight.facts import Facts, History, check_integrity, read_history
from monitor.preflight.host import Host
from monitor.preflight.model import Checklist, Window
from monitor.preflight.render import render
from monitor.probes import Expiry, heartbeat_book, probe_context
from monitor.result import Result
from monitor.runtime import run_probe
from monitor.store import registry

EXIT_CONFIG = 2
PROBES_AT_ONCE = 50


def choose_window(config: Config, name: str | None, now: float) -> Window:
    """The `[[watch]]` named `name`, else the current one, else the next to start;
    ValueError saying what is missing."""
    watches = config.watches
    if name is not None:
        found = next((w for w in watches if w.name == name), None)
        if found is None:
            known = ", ".join(repr(w.name) for w in watches) or "none configured"
            raise ValueError(f"no [[watch]] named {name!r} (known: {known})")
    else:
        if not watches:
            raise ValueError("no [[watch]] period is configured: add one to the configuration, or give --watch NAME")
        current = [w for w in watches if w.start.timestamp() <= now < w.end.timestamp()]
        upcoming = sorted((w for w in watches if w.start.timestamp() > now), key=lambda w: w.start)
        chosen = (current or upcoming)[:1]
        if not chosen:
            last = max(watches, key=lambda w: w.end)
            raise ValueError(
                f"every [[watch]] period has ended (the last, {last.name!r}, on {last.end.isoformat()}): "
                "add the next one, or give --watch NAME"
            )
        found = chosen[0]
    return Window(found.name, found.start.timestamp(), found.end.timestamp())


async def stored_history(config: Config, now: float, clock: Callable[[], float] = time.time) -> History:
    """The history through the store seam, its outbox and its consistency check."""
    settings = config.settings
    where = registry.where(settings)
    try:
        if not await asyncio.to_thread(registry.has_history, settings):
            return History(where)
    except StoreError as exc:  # a database server that cannot be reached
        return History(where, available=True, error=str(exc))
    checked = await check_integrity(settings)
    store = registry.open_store(settings, observe=False, clock=clock)
    try:
        await store.open()
        outbox = store.outbox(clock)
        outbox.open()
        try:
            found = await read_history(config, store, outbox, now, where)
        finally:
            outbox.close()
    except StoreError as exc:
        return History(where, available=True, error=str(exc), integrity=checked)
    finally:
        await store.close()
    return dataclasses.replace(found, integrity=checked)


async def read_expiries(config: Config, stored: Mapping[str, Result]) -> dict[str, Result]:
    """Probe once, now, every target with an expiry to watch (`Expiry.applies`: a
    certificate, a domain's registration) and none in its stored result."""
    wanted = [t for t in config.targets.values() if (expiry := expires(t)) is not None and _unknown(expiry, t, stored)]
    if not wanted:
        return {}
    ctx = probe_context(heartbeat_book())
    gate = asyncio.Semaphore(PROBES_AT_ONCE)

    async def one(target_id: str) -> tuple[str, Result]:
        async with gate:
            return target_id, await run_probe(config.targets[target_id], ctx)

    try:
        return dict(await asyncio.gather(*(one(t.id) for t in wanted)))
    finally:
        await ctx.aclose()


def _unknown(expiry: Expiry, target: Target, stored: Mapping[str, Result]) -> bool:
    result = stored.get(target.id)
    return result is None or expiry.at(result) is None


async def command_facts(
    config: Config,
    window: Window,
    now: float,
    *,
    host: Host,
    send_test: bool = False,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> Facts:
    """Everything `monitor preflight` judges, read as a separate process."""
    settings = config.settings
    found = await stored_history(config, now, clock)
    probed, sent = await asyncio.gather(read_expiries(config, found.last_results), _tests(config, send_test, client))
    folder = registry.folder(settings)
    return Facts(
        config=config,
        window=window,
        now=now,
        history=found,
        deadman=load_state(settings.data_dir / STATE_FILE),
        probed=probed,
        sent=sent,
        folder=folder,
        free=host.disk_free(folder) if folder is not None else None,
        open_files=host.open_files(),
        unit=host.unit_limit(host.units),
        clock=host.clock_sync(),
    )


async def _tests(config: Config, send_test: bool, client: httpx.AsyncClient | None) -> dict[str, str | None] | None:
    """`--send-test`: each notifier's outcome; None when not asked."""
    if not send_test:
        return None
    return await send_tests(config, (), client) if config.notifiers else {}


def checklist_of(facts: Facts) -> Checklist:
    settings = facts.config.settings
    return Checklist.of(settings.title, facts.window, facts.now, settings.zone, run_checks(facts))


async def run_preflight(
    config: Config,
    args: argparse.Namespace,
    *,
    clock: Callable[[], float] = time.time,
    host: Host | None = None,
    client: httpx.AsyncClient | None = None,
) -> int:
    """The command: args `watch`, `format`, `output`, `send_test`. Writes the checklist
    and returns its exit code (2 for a bad window)."""
    now = clock()
    try:
        window = choose_window(config, args.watch, now)
    except ValueError as exc:
        print(f"monitor preflight: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    facts = await command_facts(
        config, window, now, host=host or Host(), send_test=args.send_test, client=client, clock=clock
    )
    checklist = checklist_of(facts)
    language = config.settings.language
    if args.output:
        Path(args.output).write_text(render(checklist, args.format, language), encoding="utf-8")
    else:
        terminal = sys.stdout.isatty()
        sys.stdout.write(render(checklist, args.format, language, terminal=terminal, width=_width()))
    return checklist.exit_code


def _width() -> int:
    return max(100, shutil.get_terminal_size((120, 40)).columns)
