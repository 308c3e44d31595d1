"""The snmp kind: `snmp://host[:161]` reads objects of a switch, a UPS card, a video
recorder over SNMP and compares each value with what it should be.

    [targets.ups-snmp]
    url = "snmp://10.10.0.30"
    community = "${UPS_COMMUNITY}"
    oids = { "UPS-MIB::upsOutputSource.0" = "== normal", "UPS-MIB::upsEstimatedChargeRemaining.0" = ">= 50" }

v1/v2c ask with a `community` (`version = "1"` or `"2c"`, the default); v3 with a
`username` and the security level its keys give (`auth_protocol` + `auth_password`:
authNoPriv, and `priv_protocol` + `priv_password`: authPriv, neither: noAuthNoPriv).
`oids` maps an object (a numeric OID or a name `monitor.probes.mibs` knows) to a
comparison, each checked at load: `==`, `!=`, `<`, `<=`, `>`, `>=` (numbers, or an
enumeration's labels for `==`/`!=`), `~` (a regular expression searched in the value's
text). Every numeric value is a `probe_snmp_value{oid="..."}` gauge, failed
comparisons included. Reasons: `snmp_timeout`, `snmp_auth`, `snmp_no_such_object`,
`value_mismatch` (the detail names the object, the value seen and what was expected),
`dns_error`.
"""

from __future__ import annotations

import asyncio
import operator
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult

from monitor.config.reader import Table
from monitor.probes import snmpwire
from monitor.probes.base import ProbeContext, ProbeKind, SnmpEngines, Stopwatch, escape_label
from monitor.probes.mibs import ObjectName, resolve
from monitor.probes.network import Failure, ProbeFailed, url_port
from monitor.probes.network import resolve as resolve_host
from monitor.probes.snmpwire import AUTH_PROTOCOLS, PRIV_PROTOCOLS, Credentials, Value
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

VALUE = "probe_snmp_value"
VERSIONS = ("1", "2c", "3")
_COMPARISON = re.compile(r"\s*(==|!=|<=|>=|<|>|~)\s*(.*?)\s*")
_ORDER: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class Check:
    """One object and the comparison its value must pass, prepared at load."""

    written: str  # the object as the configuration names it: the gauge's `oid` label
    name: ObjectName
    op: str
    operand: str
    number: float | None = None  # the operand as a number (an enumeration's label mapped)
    pattern: re.Pattern[str] | None = None
    extra_key: str = ""  # the value's key in `Result.extra`: `probe_snmp_value{oid="..."}`

    def judge(self, value: Value) -> str | None:
        """None when `value` passes, else what is wrong, in words."""
        if self.pattern is not None:
            shown = self.text(value)
            return (
                None
                if self.pattern.search(shown)
                else f"{self.written} is {self.show(value)}, expected ~ {self.operand}"
            )
        if self.number is None:  # == or != a text
            same = value.text == self.operand
            return (
                None
                if same == (self.op == "==")
                else f"{self.written} is {self.show(value)}, expected {self.op} {self.operand}"
            )
        number = value.number if value.number is not None else _as_number(value.text)
        if number is None:
            return f"{self.written} is {self.show(value)}, not a number (expected {self.op} {self.operand})"
        if _ORDER[self.op](number, self.number):
            return None
        return f"{self.written} is {self.show(value)}, expected {self.op} {self.operand}"

    def text(self, value: Value) -> str:
        """The value's text as `~` sees it: an enumeration's label where it has one."""
        label = self.name.label_of(int(value.number)) if value.number is not None else None
        return label or value.text

    def show(self, value: Value) -> str:
        label = self.name.label_of(int(value.number)) if value.number is not None else None
        if label:
            return f"{label}({value.text})"
        return repr(value.text) if value.number is None else value.text


@dataclass(frozen=True)
class SnmpSpec:
    """An SNMP agent, who asks it, and what its objects must be."""

    host: str
    port: int
    credentials: Credentials
    checks: tuple[Check, ...] = field(default=())


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse(t: Table, url: SplitResult | None) -> SnmpSpec:
    """Read the snmp kind's keys of a `[targets.*]` table (docs/probes.md)."""
    assert url is not None  # the scheme selected this kind
    port = url_port(url, 161)
    if not url.hostname or port is None:
        t.problem("url", 'must be snmp://HOST[:PORT], e.g. "snmp://10.10.0.2"')
    if url.path not in ("", "/") or url.query or url.username:
        t.problem("url", "an snmp:// URL has only a host and a port: the objects go in oids, credentials in their keys")
    credentials = _credentials(t)
    checks = _checks(t)
    return SnmpSpec(url.hostname or "", port or 161, credentials, checks)


def _credentials(t: Table) -> Credentials:
    username = t.text("username")
    version = t.text("version", "3" if username is not None else "2c")
    if version not in VERSIONS:
        t.problem("version", f'must be one of "1", "2c", "3", not {version!r}')
        version = "2c"
    if version != "3":
        for key in ("username", "auth_protocol", "auth_password", "priv_protocol", "priv_password"):
            if t.has(key):
                t.problem(key, f"is an SNMPv3 key: it has no effect with version {version!r}")
                t.raw(key)
        return Credentials(version, community=t.text("community", "public"))
    if t.has("community"):
        t.problem("community", "is for SNMP v1/v2c: SNMPv3 asks with a username")
        t.raw("community")
    if username is None:
        t.problem("username", "is required for SNMPv3")
    auth = _protocol(t, "auth", AUTH_PROTOCOLS)
    priv = _protocol(t, "priv", PRIV_PROTOCOLS)
    if priv[0] and not auth[0]:
        t.problem(
            "priv_protocol", "needs auth_protocol and auth_password too (there is no privacy without authentication)"
        )
    return Credentials("3", None, username or "", auth[0], auth[1], priv[0], priv[1])


def _protocol(t: Table, which: str, known: dict[str, str]) -> tuple[str | None, str | None]:
    name, password = t.text(f"{which}_protocol"), t.text(f"{which}_password")
    if name is not None and name.upper() not in known:
        t.problem(f"{which}_protocol", f"must be one of {', '.join(known)}, not {name!r}")
        return None, None
    if (name is None) != (password is None):
        missing = f"{which}_password" if password is None else f"{which}_protocol"
        t.problem(missing, f"is required with {which}_protocol and {which}_password set together")
        return None, None
    if password is not None and len(password) < 8:
        t.problem(f"{which}_password", "must be at least 8 characters (RFC 3414)")
    return (name.upper() if name else None), password


def _checks(t: Table) -> tuple[Check, ...]:
    if not t.has("oids"):
        t.problem("oids", 'is required: e.g. oids = { "SNMPv2-MIB::sysUpTime.0" = "> 0" }')
        return ()
    table = t.text_mapping("oids")
    if not table and t.has("oids"):
        t.problem("oids", "must name at least one object")
    checks = []
    for written, comparison in table.items():
        try:
            checks.append(compile_check(written, comparison))
        except ValueError as exc:
            t.problems.add(f"{t.key('oids')}.{written}", str(exc))
    return tuple(checks)


def compile_check(written: str, comparison: str) -> Check:
    """`"IF-MIB::ifOperStatus.3" = "== up"` as a `Check`; ValueError saying what is wrong."""
    name = resolve(written)
    found = _COMPARISON.fullmatch(comparison)
    if not found or not found.group(2):
        raise ValueError(
            f'{comparison!r} is not a comparison: write e.g. "== 1", "> 0", "~ ^Linux" (==, !=, <, <=, >, >=, ~)'
        )
    op, operand = found.group(1), found.group(2)
    if len(operand) >= 2 and operand[0] == operand[-1] and operand[0] in "\"'":
        operand = operand[1:-1]
    sample = f'oid="{escape_label(written)}"'
    pattern, number = None, None
    if op == "~":
        try:
            pattern = re.compile(operand)
        except re.error as exc:
            raise ValueError(f"{operand!r} is not a valid regular expression: {exc}") from exc
    else:
        number = _as_number(operand)
        if number is None and op not in ("==", "!="):
            raise ValueError(f"{op} needs a number, not {operand!r}")
        if number is None and name.labels:
            if operand not in name.labels:
                raise ValueError(f"{operand!r} is none of {name.known}'s values: {', '.join(name.labels)}")
            number = float(name.labels[operand])
    return Check(written, name, op, operand, number, pattern, f"{VALUE}{{{sample}}}")


async def probe(target: Target, ctx: ProbeContext) -> Result:
    """Read the target's objects once and judge them; never raises for a failing target."""
    spec: SnmpSpec = target.spec
    clock = Stopwatch()
    own = ctx.snmp is None
    engines: SnmpEngines = snmpwire.Engines() if ctx.snmp is None else ctx.snmp
    values: list[Value | None] = []
    failure: Failure | None = None
    try:
        async with asyncio.timeout(target.timeout):
            address = (await resolve_host(spec.host, spec.port, kind=socket.SOCK_DGRAM))[0]
            async with engines.use(spec.credentials.engine_key) as engine:
                oids = [check.name.oid for check in spec.checks]
                values = await snmpwire.get(engine, spec.credentials, address, spec.port, oids, target.timeout)
    except ProbeFailed as exc:
        failure = exc.failure
    except TimeoutError:
        failure = snmpwire.silence(spec.credentials, target.timeout)
    finally:
        if own:
            engines.close()
    if failure is not None:
        return clock.failed(failure)
    return _judge(spec, values, clock)


def _judge(spec: SnmpSpec, values: list[Value | None], clock: Stopwatch) -> Result:
    extra: dict[str, float] = {}
    missing, wrong, seen = [], [], []
    for check, value in zip(spec.checks, values, strict=True):
        if value is None:
            missing.append(f"{check.written} ({check.name.oid})")
            continue
        if value.number is not None:
            extra[check.extra_key] = value.number
        seen.append(f"{check.written} = {check.show(value)}")
        verdict = check.judge(value)
        if verdict is not None:
            wrong.append(verdict)
    if missing:
        failure = Failure(Reason.SNMP_NO_SUCH_OBJECT, _short("no such object: " + ", ".join(missing)))
    elif wrong:
        failure = Failure(Reason.VALUE_MISMATCH, _short("; ".join(wrong)))
    else:
        failure = None
    return clock.outcome(failure, _short(", ".join(seen)), extra=extra)


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


KIND = ProbeKind(
    name="snmp",
    schemes=("snmp",),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType({VALUE: "Last value read of each numeric SNMP object a target checks (label oid)."}),
    secrets=("community", "auth_password", "priv_password"),
)
