"""The ups kind: `nut://host[:3493]/ups` asks a Network UPS Tools server (upsd) how the
UPS named `ups` is doing, in NUT's plain-text network protocol.

One connection per probe: `USERNAME` and `PASSWORD` when configured, `LIST VAR ups`
(every variable in one answer), `LOGOUT`, all within `target.timeout`. From the variables:
`ups.status` (flags: OL on line power, OB on battery, LB low battery, RB replace
battery, OVER, BYPASS, OFF, FSD, ALARM, ...), `battery.charge` (%), `battery.runtime`
(s), `input.voltage` (V), `ups.load` (%). The verdict, first match wins:

- `ERR DATA-STALE`, `ERR DRIVER-NOT-CONNECTED` or no status yet (`WAIT`): DOWN,
  `ups_data_stale` (the driver lost the UPS, or is not running);
- OFF or FSD: DOWN, `ups_off` (the UPS's output is off or being shut down);
- LB, `battery.charge < min_charge`, `battery.runtime < min_runtime`: DOWN, `low_battery`;
- OB: DEGRADED, `on_battery`, "on battery since …": when this monitor first saw OB in
  this outage (`ProbeContext.onsets`), also the gauge `probe_ups_on_battery_start_time_seconds`;
- OVER, BYPASS, RB, ALARM: DEGRADED, `ups_overload`, `ups_bypass`, `replace_battery`,
  `ups_alarm` (power still reaches the load, but the UPS needs someone's attention);
- otherwise (OL): UP.

Errors: `ERR UNKNOWN-UPS` is `ups_not_found`, `ERR ACCESS-DENIED` and the password
errors `auth_failed`, another `ERR` `invalid_response`. A stock upsd checks a password
only for commands that need an account (LOGIN, SET, INSTCMD): reading needs none.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote

from monitor.config.reader import Table, format_duration
from monitor.probes.base import Battery, ProbeContext, ProbeKind, Stopwatch
from monitor.probes.network import Failure, ProbeFailed, classify, hang_up, url_port
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

CHARGE = "probe_ups_battery_charge_ratio"
RUNTIME = "probe_ups_battery_runtime_seconds"
VOLTAGE = "probe_ups_input_volts"
LOAD = "probe_ups_load_ratio"
ON_BATTERY = "probe_ups_on_battery"
ON_BATTERY_SINCE = "probe_ups_on_battery_start_time_seconds"
READ_LIMIT = 256 * 1024  # a LIST VAR answer is a few KB
_STALE = {"DATA-STALE": "the UPS driver reports stale data", "DRIVER-NOT-CONNECTED": "the UPS driver is not running"}
_AUTH = {"ACCESS-DENIED", "INVALID-PASSWORD", "INVALID-USERNAME", "USERNAME-REQUIRED", "PASSWORD-REQUIRED"}
_ATTENTION = (
    ("OVER", Reason.UPS_OVERLOAD, "overloaded (OVER)"),
    ("BYPASS", Reason.UPS_BYPASS, "on bypass (BYPASS): the load is not protected"),
    ("RB", Reason.REPLACE_BATTERY, "the battery needs replacing (RB)"),
    ("ALARM", Reason.UPS_ALARM, "alarm (ALARM)"),
)


@dataclass(frozen=True)
class UpsSpec:
    """A UPS behind a NUT server, how to log in and the battery's floor."""

    host: str
    port: int
    ups: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    min_charge: float | None = None  # percent
    min_runtime: float | None = None  # seconds


def parse(t: Table, url: SplitResult | None) -> UpsSpec:
    """Read the ups kind's keys of a `[targets.*]` table (docs/probes.md)."""
    assert url is not None  # the scheme selected this kind
    port = url_port(url, 3493)
    name = unquote(url.path.strip("/"))
    if not url.hostname or port is None or not name or "/" in name or " " in name or url.query:
        t.problem("url", 'must be nut://HOST[:PORT]/UPS, e.g. "nut://10.10.0.5/serverroom" (the name in ups.conf)')
    username = t.text("username") or (unquote(url.username) if url.username else None)
    password = t.text("password") or (unquote(url.password) if url.password else None)
    if password is not None and username is None:
        t.problem("password", "needs a username")
    min_charge = t.number("min_charge", -1.0, low=0.0, high=100.0) if t.has("min_charge") else None
    min_runtime = t.duration("min_runtime")
    return UpsSpec(url.hostname or "", port or 3493, name, username, password, min_charge, min_runtime)


class _Client:
    """One conversation with upsd on asyncio streams; the caller bounds it in time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.read = 0

    async def command(self, line: str) -> str:
        self.writer.write(line.encode("utf-8") + b"\n")
        await self.writer.drain()
        return await self.line()

    async def line(self) -> str:
        raw = await self.reader.readline()
        self.read += len(raw)
        if not raw.endswith(b"\n"):
            raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, "the NUT server closed the connection mid-answer"))
        if self.read > READ_LIMIT:
            raise ProbeFailed(Failure(Reason.RESPONSE_TOO_LARGE, f"more than {READ_LIMIT} bytes from the NUT server"))
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def login(self, username: str, password: str | None) -> None:
        _expect_ok(await self.command(f"USERNAME {_quote(username)}"), "USERNAME")
        if password is not None:
            _expect_ok(await self.command(f"PASSWORD {_quote(password)}"), "PASSWORD")

    async def variables(self, ups: str) -> dict[str, str]:
        answer = await self.command(f"LIST VAR {ups}")
        _raise_error(answer)
        if answer != f"BEGIN LIST VAR {ups}":
            raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"not a NUT answer: {answer[:80]!r}"))
        found: dict[str, str] = {}
        while (line := await self.line()) != f"END LIST VAR {ups}":
            _raise_error(line)
            words = _split(line)
            if len(words) != 4 or words[0] != "VAR":
                raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"not a NUT variable line: {line[:80]!r}"))
            found[words[2]] = words[3]
        return found

    async def logout(self) -> None:
        self.writer.write(b"LOGOUT\n")
        await self.writer.drain()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split(line: str) -> list[str]:
    """A protocol line's words; a quoted word may hold spaces, \\" and \\\\."""
    words, word, quoted, escaped, inside = [], [], False, False, False
    for char in line:
        if escaped:
            word.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted, inside = not quoted, True
        elif char == " " and not quoted:
            if word or inside:
                words.append("".join(word))
            word, inside = [], False
        else:
            word.append(char)
    if word or inside:
        words.append("".join(word))
    return words


def _raise_error(line: str) -> None:
    if not line.startswith("ERR "):
        return
    code = line[4:].split(" ", 1)[0]
    if code in _STALE:
        raise ProbeFailed(Failure(Reason.UPS_DATA_STALE, f"{_STALE[code]} (ERR {code})"))
    if code == "UNKNOWN-UPS":
        raise ProbeFailed(Failure(Reason.UPS_NOT_FOUND, "the NUT server knows no UPS by this name (ERR UNKNOWN-UPS)"))
    if code in _AUTH:
        raise ProbeFailed(Failure(Reason.AUTH_FAILED, f"the NUT server refused the login (ERR {code})"))
    raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"the NUT server answered {line[:80]!r}"))


def _expect_ok(answer: str, command: str) -> None:
    _raise_error(answer)
    if not answer.startswith("OK"):
        raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"{command} answered {answer[:80]!r}"))


async def _fetch(spec: UpsSpec, timeout: float, clock: Stopwatch) -> dict[str, str]:
    writer: asyncio.StreamWriter | None = None
    stage = "connecting"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(spec.host, spec.port, limit=READ_LIMIT)
            client = _Client(reader, writer)
            if spec.username is not None:
                stage = "logging in"
                await client.login(spec.username, spec.password)
            stage = f"listing the variables of {spec.ups}"
            found = await client.variables(spec.ups)
            await client.logout()
            return found
    except TimeoutError as exc:
        raise ProbeFailed(Failure(Reason.TIMEOUT, f"no answer within {format_duration(timeout)} ({stage})")) from exc
    except (OSError, UnicodeError) as exc:
        raise ProbeFailed(classify(exc, f"{spec.host} port {spec.port}")) from exc
    finally:
        if writer is not None:
            await hang_up(writer, clock.left(timeout))


def _number(found: dict[str, str], name: str) -> float | None:
    try:
        return float(found[name])
    except (KeyError, ValueError):
        return None


def _figures(found: dict[str, str]) -> dict[str, float]:
    """The gauges of one answer: what the UPS reported of them."""
    extra: dict[str, float] = {}
    for var, gauge, per in (
        ("battery.charge", CHARGE, 100.0),  # percent -> ratio
        ("battery.runtime", RUNTIME, 1.0),
        ("input.voltage", VOLTAGE, 1.0),
        ("ups.load", LOAD, 100.0),
    ):
        value = _number(found, var)
        if value is not None:
            extra[gauge] = value / per
    return extra


def _battery(found: dict[str, str]) -> str:
    """ "battery 80%, about 25m left, input 228 V, load 35%": what the UPS told of them."""
    parts = []
    charge, runtime = _number(found, "battery.charge"), _number(found, "battery.runtime")
    voltage, load = _number(found, "input.voltage"), _number(found, "ups.load")
    if charge is not None:
        parts.append(f"battery {charge:g}%")
    if runtime is not None:
        parts.append(f"about {format_duration(runtime)} left")
    if voltage is not None:
        parts.append(f"input {voltage:g} V")
    if load is not None:
        parts.append(f"load {load:g}%")
    return ", ".join(parts)


def judge(spec: UpsSpec, found: dict[str, str], on_battery_since: float | None) -> tuple[Failure | None, bool, str]:
    """(failure or None, degraded, detail) for the variables of one answer."""
    flags = set(found.get("ups.status", "").split())
    figures = _battery(found)
    said = f"{found.get('ups.status', '')}: {figures}" if figures else found.get("ups.status", "")
    if not flags or flags == {"WAIT"}:
        return Failure(Reason.UPS_DATA_STALE, "the UPS driver has not reported a status yet"), False, ""
    if flags & {"OFF", "FSD"}:
        what = "being shut down (FSD)" if "FSD" in flags else "switched off (OFF)"
        return Failure(Reason.UPS_OFF, f"the UPS output is {what}; {said}"), False, ""
    low = _low_battery(spec, found, flags)
    if low is not None:
        return Failure(Reason.LOW_BATTERY, f"{low}; {said}"), False, ""
    if "OB" in flags:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(on_battery_since)) if on_battery_since else "now"
        return None, True, f"on battery since {since}; {said}"
    for flag, _reason, words in _ATTENTION:
        if flag in flags:
            return None, True, f"{words}; {said}"
    return None, False, f"on line power; {said}" if "OL" in flags else said


def _low_battery(spec: UpsSpec, found: dict[str, str], flags: set[str]) -> str | None:
    charge, runtime = _number(found, "battery.charge"), _number(found, "battery.runtime")
    if "LB" in flags:
        return "low battery (LB)"
    if spec.min_charge is not None and charge is not None and charge < spec.min_charge:
        return f"battery charge {charge:g}% is below min_charge {spec.min_charge:g}%"
    if spec.min_runtime is not None and runtime is not None and runtime < spec.min_runtime:
        return f"battery runtime {format_duration(runtime)} is below min_runtime {format_duration(spec.min_runtime)}"
    return None


def _degraded_reason(flags: set[str]) -> str:
    if "OB" in flags:
        return Reason.ON_BATTERY
    return next(reason for flag, reason, _words in _ATTENTION if flag in flags)


async def probe(target: Target, ctx: ProbeContext) -> Result:
    """Ask the NUT server once; never raises for a failing target."""
    spec: UpsSpec = target.spec
    clock = Stopwatch()
    try:
        found = await _fetch(spec, target.timeout, clock)
    except ProbeFailed as exc:
        return clock.failed(exc.failure)
    flags = set(found.get("ups.status", "").split())
    on_battery = "OB" in flags
    since = ctx.onsets.onset(target.id, "on_battery", on_battery, clock.started) if ctx.onsets else None
    if on_battery and since is None:
        since = clock.started
    extra = _figures(found)
    if "ups.status" in found:
        extra[ON_BATTERY] = 1.0 if on_battery else 0.0
    if on_battery and since is not None:
        extra[ON_BATTERY_SINCE] = since
    failure, degraded, detail = judge(spec, found, since)
    if failure is not None:
        return clock.failed(failure, extra=extra)
    reason = _degraded_reason(flags) if degraded else Reason.OK
    return Result(
        ok=True,
        reason=reason,
        detail=detail,
        degraded=degraded,
        started=clock.started,
        duration=clock.elapsed(),
        extra=extra,
    )


KIND = ProbeKind(
    name="ups",
    schemes=("nut",),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType(
        {
            CHARGE: "UPS battery charge (0-1) the NUT server reported.",
            RUNTIME: "UPS battery runtime left in seconds the NUT server reported.",
            VOLTAGE: "UPS input voltage the NUT server reported.",
            LOAD: "UPS load (0-1 of its capacity) the NUT server reported.",
            ON_BATTERY: "1 while the UPS runs on battery (status OB), else 0.",
            ON_BATTERY_SINCE: "Unix time this monitor first saw the UPS on battery in the current outage.",
        }
    ),
    alert_degraded=True,
    battery=Battery(
        CHARGE, RUNTIME, ON_BATTERY, floor=lambda target: (target.spec.min_charge, target.spec.min_runtime)
    ),
    secrets=("password",),
)
