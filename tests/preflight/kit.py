"""Shared pieces of the preflight tests: one clock and one zone for every date, a real
targets.toml around the targets a test names, a machine whose answers the test sets,
real TLS servers with trustme certificates, and the checklist as the command builds it.

`NOW` is read once; the watch period, the certificates, the stored history and every
assertion are counted from it, in `ZONE`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import trustme

from monitor.config import Config
from monitor.config.loader import load_config
from monitor.preflight.host import ClockSync, Host, UnitLimit
from monitor.preflight.model import Checklist, Row, Status
from monitor.preflight.run import checklist_of, choose_window, command_facts

NOW = float(int(time.time()))
ZONE = ZoneInfo("Asia/Jakarta")
DAY = 86400.0
START, END = NOW + 3 * DAY, NOW + 13 * DAY
WATCH = "Cuti bersama Idul Fitri"


class Clock:
    """A clock the test moves by hand, starting at `NOW`."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def local(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, ZONE)


def shown(at: float) -> str:
    """A time as the checklist shows it."""
    return local(at).strftime("%Y-%m-%d %H:%M")


@dataclass
class Machine:
    """The machine's answers (`monitor.preflight.host.Host`), set by the test."""

    free: int | None = 10**12
    open_files: int | None = 65536
    unit: UnitLimit | None = None
    clock: ClockSync | None = field(default_factory=lambda: ClockSync(True, 0.002, 0.05))
    asked: list[Path] = field(default_factory=list)

    def host(self) -> Host:
        def disk_free(folder: Path) -> int | None:
            self.asked.append(folder)
            return self.free

        return Host(
            disk_free=disk_free,
            open_files=lambda: self.open_files,
            unit_limit=lambda paths: self.unit,
            clock_sync=lambda: self.clock,
            units=(),
        )


def write_config(
    folder: Path,
    body: str,
    *,
    language: str = "id",
    monitor: str = "",
    defaults: str = "",
    watch: bool = True,
) -> Config:
    """A real targets.toml in `folder` (data in `folder/data`), loaded by the real loader:
    `body` holds the targets, notifiers and maintenance."""
    period = f'[[watch]]\nname = "{WATCH}"\nstart = {local(START).isoformat()}\nend = {local(END).isoformat()}\n'
    text = (
        f'[monitor]\ntitle = "Status Layanan Pemkab"\nlanguage = "{language}"\ntimezone = "Asia/Jakarta"\n'
        f'data_dir = "data"\n{monitor}\n[defaults]\ninterval = "30s"\ntimeout = "2s"\n{defaults}\n'
        f"{period if watch else ''}\n{body}"
    )
    path = folder / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={})


async def build(config: Config, machine: Machine | None = None, *, send_test: bool = False) -> Checklist:
    """The checklist `monitor preflight` makes at `NOW`."""
    window = choose_window(config, None, NOW)
    machine = machine or Machine()
    facts = await command_facts(config, window, NOW, host=machine.host(), send_test=send_test, clock=Clock())
    return checklist_of(facts)


def rows(checklist: Checklist, check: str) -> list[Row]:
    return [r for r in checklist.rows if r.check == check]


def row(checklist: Checklist, check: str, target: str | None = None) -> Row:
    """The one row of `check` (naming `target`, when given)."""
    found = [r for r in rows(checklist, check) if target is None or target in r.ids]
    assert len(found) == 1, (check, target, found)
    return found[0]


def statuses(checklist: Checklist, check: str) -> list[tuple[Status, tuple[str, ...], str]]:
    return [(r.status, r.ids, r.found.key) for r in rows(checklist, check)]


def certificate(ca: trustme.CA, expires: float) -> trustme.LeafCert:
    """A certificate for 127.0.0.1, valid from ten days before `NOW` until `expires`."""
    return ca.issue_cert(
        "127.0.0.1",
        not_before=dt.datetime.fromtimestamp(NOW - 10 * DAY, dt.UTC),
        not_after=dt.datetime.fromtimestamp(expires, dt.UTC),
    )


@asynccontextmanager
async def tls_servers(*certs: trustme.LeafCert) -> AsyncIterator[list[int]]:
    """A TLS server on 127.0.0.1 per certificate; yields their ports."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.close()

    servers = []
    for cert in certs:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        servers.append(await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context))
    try:
        yield [int(s.sockets[0].getsockname()[1]) for s in servers]
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()
