"""Debian's Network UPS Tools server (`upsd`, package nut-server) on a loopback port with
`dummy-ups` drivers, each reading a `.dev` file the test rewrites: a UPS whose state the
test sets. Everything lives in a temporary folder (NUT_CONFPATH, NUT_STATEPATH); run as
root, the daemons are told to stay root (`-u root`) so they can read it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration import need
from tests.waiting import NotInTime, wait_for

ONLINE = {
    "ups.status": "OL",
    "battery.charge": "100",
    "battery.runtime": "1800",
    "input.voltage": "228.5",
    "ups.load": "35",
}
MAXAGE = 2  # seconds without news from a driver before upsd calls its data stale


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Nut:
    """A running upsd: its port, and its UPSes' drivers by name."""

    folder: Path
    port: int
    env: dict[str, str]
    drivers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stamp: float = 0.0

    def set(self, ups: str, **variables: str) -> None:
        """Rewrite the UPS's .dev file (`ups_status="OB LB"` is `ups.status: OB LB`)."""
        values = {**ONLINE, **{key.replace("_", "."): value for key, value in variables.items()}}
        path = self.folder / f"{ups}.dev"
        path.write_text("".join(f"{key}: {value}\n" for key, value in values.items()), encoding="utf-8")
        self.stamp = max(time.time(), self.stamp + 1)  # dummy-ups rereads a file whose mtime changed
        os.utime(path, (self.stamp, self.stamp))

    def kill_driver(self, ups: str) -> None:
        driver = self.drivers.pop(ups)
        driver.terminate()
        driver.wait(timeout=10)

    def freeze_driver(self, ups: str) -> Callable[[], None]:
        """Stop the driver without ending it (a hung driver); returns the way to thaw it."""
        driver = self.drivers[ups]
        driver.send_signal(signal.SIGSTOP)
        return lambda: driver.send_signal(signal.SIGCONT)


def _wait_for(check: Callable[[], bool], what: str, log: Path) -> None:
    """`wait_for` what NUT starts, quoting its log if it does not."""
    try:
        wait_for(check, 15, what=what, every=0.05)
    except NotInTime as exc:
        raise NotInTime(f"{exc}: {log.read_text(errors='replace')}") from None


@contextlib.contextmanager
def nut_server(folder: Path, names: tuple[str, ...]) -> Iterator[Nut]:
    """upsd with one dummy-ups driver per name, each UPS on line power to begin with."""
    upsd = need("/lib/nut/upsd", "nut-server")
    dummy = need("/lib/nut/dummy-ups", "nut-server")
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / "state"
    state.mkdir()
    port = free_port()
    (folder / "nut.conf").write_text("MODE=standalone\n")
    (folder / "ups.conf").write_text(
        "".join(f"[{n}]\n  driver = dummy-ups\n  port = {folder / n}.dev\n  pollinterval = 1\n" for n in names)
    )
    (folder / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\nMAXAGE {MAXAGE}\n")
    (folder / "upsd.users").write_text('[monitor]\n  password = "nut-s3cret"\n  upsmon secondary\n')
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NUT_CONFPATH": str(folder),
        "NUT_STATEPATH": str(state),
        "NUT_ALTPIDPATH": str(state),
    }
    as_root = ["-u", "root"] if os.geteuid() == 0 else []
    nut = Nut(folder, port, env)
    processes: list[subprocess.Popen[bytes]] = []
    log = folder / "nut.log"
    with log.open("ab") as out:
        try:
            for name in names:
                nut.set(name)
                driver = subprocess.Popen([dummy, "-a", name, "-F", *as_root], stdout=out, stderr=out, env=env)
                nut.drivers[name] = driver
                processes.append(driver)
                _wait_for(lambda n=name: (state / f"dummy-ups-{n}").exists(), f"driver {name} starting", log)
            server = subprocess.Popen([upsd, "-F", *as_root], stdout=out, stderr=out, env=env)
            processes.append(server)
            _wait_for(lambda: _listening(port), "upsd listening", log)
            yield nut
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)
                    process.terminate()
                    process.wait(timeout=10)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False
