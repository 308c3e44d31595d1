"""What the machine itself tells: free disk space, the open-file limit, the clock.

Each reader is small and injectable (`Host`), so the checks can be tested with any
machine's answers: `disk_free(folder)`, `open_files()`, `unit_limit(paths)` and
`clock_sync()` (the kernel's NTP state through `adjtimex(2)`, read-only).

The open-file limit that matters is the one `monitor run` works with: at start it
raises its soft limit to the hard one (`monitor.web.guard.raise_open_file_limit`). So
from a shell `open_files()` is this process's hard limit (what a `monitor run` started
here reaches), inside the running monitor `own_open_files()` its soft limit (already
raised), and a systemd unit's `LimitNOFILE` counts by its hard value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Where `deploy/systemd/monitor.service` is installed (docs/deploying.md), then the
# packaged locations; drop-ins in `<unit>.d/*.conf` override the unit's own line.
UNIT_PATHS = (
    Path("/etc/systemd/system/monitor.service"),
    Path("/usr/lib/systemd/system/monitor.service"),
    Path("/lib/systemd/system/monitor.service"),
)
SYSTEMD_DEFAULT_NOFILE = 524288  # systemd's DefaultLimitNOFILE=1024:524288 (v240 on): its hard value


@dataclass(frozen=True)
class UnitLimit:
    """A systemd unit's open-file limit as `monitor run` raises it: the hard value (None:
    unlimited); `default` when the unit sets none and systemd's default applies."""

    path: Path
    limit: int | None
    default: bool = False


@dataclass(frozen=True)
class ClockSync:
    """The kernel's view of the clock: synchronised by NTP or not, the last offset the
    synchronisation daemon applied and the maximum error it estimates, in seconds."""

    synchronised: bool
    offset: float
    max_error: float


def disk_free(folder: Path) -> int | None:
    """Free bytes for an unprivileged writer on `folder`'s file system (its nearest
    existing parent when it does not exist yet); None when unreadable."""
    for candidate in (folder, *folder.resolve().parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def open_files() -> int | None:
    """The open-file limit a `monitor run` started from this process would work with:
    the hard limit it raises its soft one to (an unlimited hard limit cannot be taken as
    the soft one: then the soft limit stays); None when unlimited."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = hard if hard != resource.RLIM_INFINITY else soft
    return None if limit == resource.RLIM_INFINITY else int(limit)


def own_open_files() -> int | None:
    """This process's soft limit of open files (the running monitor's, already raised);
    None when unlimited."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def unit_limit(paths: Sequence[Path] = UNIT_PATHS) -> UnitLimit | None:
    """The `LimitNOFILE` of the first installed unit among `paths` (its drop-ins
    applied); None when none is installed."""
    for path in paths:
        if not path.is_file():
            continue
        files = [path, *sorted(path.with_name(path.name + ".d").glob("*.conf"))]
        found: str | None = None
        for unit in files:
            found = _last_setting(unit, "LimitNOFILE") or found
        if found is None:
            return UnitLimit(path, SYSTEMD_DEFAULT_NOFILE, default=True)
        return UnitLimit(path, _hard(found))
    return None


def _last_setting(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    value = None
    for line in lines:
        name, sep, rest = line.strip().partition("=")
        if sep and name.strip() == key:
            value = rest.strip()
    return value


def _hard(value: str) -> int | None:
    """`65536` (both), `1024:524288` (soft:hard) or `infinity`: the hard value; an
    unreadable value counts as systemd's default."""
    hard = value.rpartition(":")[2].strip()
    if hard == "infinity":
        return None
    return int(hard) if hard.isdigit() else SYSTEMD_DEFAULT_NOFILE


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    """`struct timex` of <sys/timex.h> (Linux, any word size)."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("padding", ctypes.c_int * 11),
    )


TIME_ERROR = 5  # adjtimex's answer for "clock not synchronised"
STA_UNSYNC = 0x0040
STA_NANO = 0x2000


def clock_sync() -> ClockSync | None:
    """The kernel's NTP state (`adjtimex` with no modes only reads); None where it cannot
    be read (not Linux, or a seccomp filter such as systemd's `ProtectClock=`)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    unit = 1e9 if timex.status & STA_NANO else 1e6
    synchronised = state != TIME_ERROR and not timex.status & STA_UNSYNC
    return ClockSync(synchronised, timex.offset / unit, timex.maxerror / 1e6)


@dataclass(frozen=True)
class Host:
    """The machine's readers, replaceable in tests. `units` are the systemd unit files
    to look for (none: the process is itself the monitor, its own limit is the one)."""

    disk_free: Callable[[Path], int | None] = disk_free
    open_files: Callable[[], int | None] = open_files
    unit_limit: Callable[[Sequence[Path]], UnitLimit | None] = unit_limit
    clock_sync: Callable[[], ClockSync | None] = clock_sync
    units: Sequence[Path] = field(default=UNIT_PATHS)
