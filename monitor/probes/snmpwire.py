"""SNMP GET through pysnmp 7 (`pysnmp.hlapi.v3arch.asyncio`), and the engines it runs on.

A pysnmp engine costs ~50 ms of CPU to make and ~1 MB of memory, a GET on a made one
about 1 ms: so engines are kept (`Engines`, in the `ProbeContext`) and made in a worker
thread, never on the event loop. Every v1/v2c target shares one engine (a community is
part of each request); each distinct set of SNMPv3 credentials gets its own, because an
engine's user table holds one set of keys per user name. pysnmp is imported only when
the first snmp probe runs.

`get` asks for every OID in one request and returns each value, or raises `ProbeFailed`:
`snmp_timeout` (no answer; SNMP v1/v2c does not answer a wrong community, and an agent
that cannot decrypt a v3 request stays silent too), `snmp_auth` (a v3 user, password or
security level the agent rejects, or access denied), `snmp_no_such_object` (v1's
noSuchName), `error` (another error status).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config.reader import format_duration
from monitor.probes.network import Failure, ProbeFailed
from monitor.result import Reason

AUTH_PROTOCOLS = {
    "MD5": "usmHMACMD5AuthProtocol",
    "SHA": "usmHMACSHAAuthProtocol",
    "SHA-224": "usmHMAC128SHA224AuthProtocol",
    "SHA-256": "usmHMAC192SHA256AuthProtocol",
    "SHA-384": "usmHMAC256SHA384AuthProtocol",
    "SHA-512": "usmHMAC384SHA512AuthProtocol",
}
PRIV_PROTOCOLS = {
    "DES": "usmDESPrivProtocol",
    "AES": "usmAesCfb128Protocol",
    "AES-192": "usmAesCfb192Protocol",
    "AES-256": "usmAesCfb256Protocol",
}
V1_V2C = "v1/v2c"  # the one engine every community shares

# pysnmp's error indications by class name: a v3 request the agent refused.
_AUTH_ERRORS = {
    "UnknownUserName",
    "UnknownSecurityName",
    "WrongDigest",
    "UnsupportedSecurityLevel",
    "AuthenticationFailure",
    "AuthenticationError",
    "DecryptionError",
    "NotInTimeWindow",
    "UnknownEngineID",
}
_NUMERIC_TYPES = {"Integer", "Integer32", "Unsigned32", "Counter32", "Counter64", "Gauge32", "TimeTicks"}
_MISSING_TYPES = {"NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null"}


@dataclass(frozen=True)
class Credentials:
    """Who asks: `version` "1", "2c" or "3"; a community for v1/v2c; for v3 a user and
    the protocols and passwords its security level needs (none: noAuthNoPriv)."""

    version: str
    community: str | None = field(default=None, repr=False)
    username: str | None = None
    auth_protocol: str | None = None
    auth_password: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_password: str | None = field(default=None, repr=False)

    @property
    def engine_key(self) -> Hashable:
        return V1_V2C if self.version != "3" else self

    @property
    def level(self) -> str:
        if self.version != "3":
            return f"community, SNMP v{self.version}"
        return "authPriv" if self.priv_protocol else "authNoPriv" if self.auth_protocol else "noAuthNoPriv"


@dataclass(frozen=True, slots=True)
class Value:
    """One value as the agent sent it: `number` for the numeric types (integers,
    counters, gauges, TimeTicks in hundredths of a second), `text` for every type."""

    text: str
    number: float | None = None
    kind: str = ""


def _new_engine() -> Any:
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine  # ~170 ms of imports: not at start-up

    return SnmpEngine()


class Engines:
    """The kept engines (see the module doc), at most `limit`: past that the least
    recently used idle one is closed. Bound to the event loop that first used them."""

    def __init__(self, limit: int = 16) -> None:
        self.limit = limit
        self._engines: OrderedDict[Hashable, Any] = OrderedDict()
        self._users: dict[Hashable, int] = {}
        self._making: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def use(self, key: Hashable) -> AsyncIterator[Any]:
        self._users[key] = self._users.get(key, 0) + 1
        try:
            yield await self._engine(key)
        finally:
            self._users[key] -= 1

    async def _engine(self, key: Hashable) -> Any:
        if self._making is None:
            self._making = asyncio.Lock()
        async with self._making:  # one at a time: a start-up must not make twenty at once
            engine = self._engines.get(key)
            if engine is None:
                engine = self._engines[key] = await asyncio.to_thread(_new_engine)
                self._evict()
            self._engines.move_to_end(key)
            return engine

    def _evict(self) -> None:
        for key in list(self._engines):
            if len(self._engines) <= self.limit:
                return
            if not self._users.get(key):
                self._engines.pop(key).close_dispatcher()
                self._users.pop(key, None)

    def close(self) -> None:
        while self._engines:
            _key, engine = self._engines.popitem()
            engine.close_dispatcher()


async def get(
    engine: Any, who: Credentials, address: str, port: int, oids: Sequence[str], timeout: float
) -> list[Value | None]:
    """The values of `oids`, in their order, read from the agent at `address`; raises
    `ProbeFailed` (see the module doc). `timeout` is constant per target: pysnmp keeps
    a configuration entry per distinct (address, timeout)."""
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    target_type = hlapi.Udp6TransportTarget if ipaddress.ip_address(address).version == 6 else hlapi.UdpTransportTarget
    transport = await target_type.create((address, port), timeout=timeout, retries=0)
    objects = [hlapi.ObjectType(hlapi.ObjectIdentity(oid)) for oid in oids]
    indication, status, index, bindings = await hlapi.get_cmd(
        engine, _auth(hlapi, who), transport, hlapi.ContextData(), *objects, lookupMib=False
    )
    if indication:
        raise ProbeFailed(_indication_failure(indication, who, timeout))
    if status:
        raise ProbeFailed(_status_failure(status.prettyPrint(), int(index), oids))
    return [_value(value) for _name, value in bindings]


def _auth(hlapi: Any, who: Credentials) -> Any:
    if who.version != "3":
        return hlapi.CommunityData(who.community or "", mpModel=0 if who.version == "1" else 1)
    auth = getattr(hlapi, AUTH_PROTOCOLS[who.auth_protocol]) if who.auth_protocol else hlapi.usmNoAuthProtocol
    priv = getattr(hlapi, PRIV_PROTOCOLS[who.priv_protocol]) if who.priv_protocol else hlapi.usmNoPrivProtocol
    return hlapi.UsmUserData(who.username, who.auth_password, who.priv_password, authProtocol=auth, privProtocol=priv)


def _indication_failure(indication: Exception, who: Credentials, timeout: float) -> Failure:
    name = type(indication).__name__
    if name == "RequestTimedOut":
        return silence(who, timeout)
    if name in _AUTH_ERRORS:
        return Failure(Reason.SNMP_AUTH, f"the agent refused user {who.username!r} ({who.level}): {indication}")
    return Failure(Reason.ERROR, f"SNMP error: {indication}")


def silence(who: Credentials, timeout: float) -> Failure:
    """No answer in time, with what silence can mean in SNMP."""
    hint = (
        "a wrong community gets no answer in SNMP v1/v2c"
        if who.version != "3"
        else "an agent that cannot decrypt a request (a wrong priv_password) does not answer"
    )
    return Failure(Reason.SNMP_TIMEOUT, f"no SNMP answer within {format_duration(timeout)} ({hint})")


def _status_failure(status: str, index: int, oids: Sequence[str]) -> Failure:
    oid = oids[index - 1] if 0 < index <= len(oids) else None
    if status == "noSuchName":
        return Failure(Reason.SNMP_NO_SUCH_OBJECT, f"the agent has no object {oid}" if oid else "noSuchName")
    if status in ("noAccess", "authorizationError"):
        return Failure(Reason.SNMP_AUTH, f"the agent answered {status}" + (f" for {oid}" if oid else ""))
    return Failure(Reason.ERROR, f"the agent answered {status}" + (f" for {oid}" if oid else ""))


def _value(value: Any) -> Value | None:
    """A `Value`, or None for "no such object" (and v2c's other exceptions)."""
    kind = type(value).__name__
    if kind in _MISSING_TYPES:
        return None
    if kind in _NUMERIC_TYPES:
        number = int(value)
        return Value(str(number), float(number), kind)
    if kind == "OctetString":
        raw = bytes(value)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if raw and (not text or not all(c.isprintable() or c in "\r\n\t" for c in text)):
            text = ":".join(f"{byte:02x}" for byte in raw)  # a MAC address, a bit string
        return Value(text, None, kind)
    return Value(value.prettyPrint(), None, kind)  # IpAddress, ObjectIdentifier, Opaque
