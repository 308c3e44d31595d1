"""SNMP object names: `"IF-MIB::ifOperStatus.3"` or `"1.3.6.1.2.1.2.2.1.8.3"` -> the
numeric OID to ask for, and what the table shipped with the package
(`monitor.probes.mibtable`, generated from the IETF modules' text) knows of it: its
symbolic name and, for an enumerated INTEGER, its labels.

Known modules: SNMPv2-MIB, IF-MIB, HOST-RESOURCES-MIB, UPS-MIB (RFC 1628). A name is
`MODULE::object.instance` (or `object.instance` alone: no object is in two of them); a
scalar's instance is `.0`, a table column's is the row's index (`ifOperStatus.3`).
Any other MIB's objects are asked for by their numeric OID. No MIB is read at run time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.probes.mibtable import ENUMS, OBJECTS

MODULES = tuple(dict.fromkeys(name.split("::")[0] for name in OBJECTS))
_BY_OBJECT = {name.split("::")[1]: name for name in OBJECTS}
_BY_OID = {oid: name for name, (oid, _kind) in OBJECTS.items()}
_NUMERIC = re.compile(r"\.?(\d+(?:\.\d+)+)")
_SYMBOLIC = re.compile(r"(?:([A-Za-z][\w-]*)::)?([a-zA-Z][\w-]*)((?:\.\d+)*)")
_NO_LABELS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ObjectName:
    """One object instance to read: `oid` (numeric, dotted), the object's symbolic
    name when the table knows it (`IF-MIB::ifOperStatus`) and its enumeration's labels."""

    oid: str
    known: str | None = None
    labels: Mapping[str, int] = field(default_factory=lambda: _NO_LABELS)

    def label_of(self, number: int) -> str | None:
        return next((label for label, n in self.labels.items() if n == number), None)


def resolve(text: str) -> ObjectName:
    """The object `text` names; ValueError saying what is wrong with it otherwise."""
    numeric = _NUMERIC.fullmatch(text.strip())
    if numeric:
        return _known(numeric.group(1))
    symbolic = _SYMBOLIC.fullmatch(text.strip())
    if not symbolic:
        raise ValueError('is neither an OID ("1.3.6.1.2.1.1.3.0") nor a name ("SNMPv2-MIB::sysUpTime.0")')
    module, name, instance = symbolic.groups()
    full = _full_name(module, name)
    oid, kind = OBJECTS[full]
    if kind == "scalar" and instance != ".0":
        raise ValueError(f'is a scalar, whose one instance is .0: write "{full}.0"')
    if kind == "column" and not instance:
        raise ValueError(f'is a table column: add the row\'s index, e.g. "{full}.1"')
    return ObjectName(oid + instance, full, MappingProxyType(ENUMS.get(full, {})))


def _full_name(module: str | None, name: str) -> str:
    if module is None:
        if name in _BY_OBJECT:
            return _BY_OBJECT[name]
        raise ValueError(f"names no object of {', '.join(MODULES)}{_suggest(name, _BY_OBJECT)}")
    if module not in MODULES:
        raise ValueError(f"names an unknown MIB module {module!r} (known: {', '.join(MODULES)}; or write the OID)")
    full = f"{module}::{name}"
    if full not in OBJECTS:
        objects = {key.split("::")[1]: key for key in OBJECTS if key.startswith(f"{module}::")}
        raise ValueError(f"names no readable object of {module}{_suggest(name, objects)}")
    return full


def _suggest(name: str, known: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {known[close[0]]}?)" if close else " (write the numeric OID for other MIBs' objects)"


def _known(oid: str) -> ObjectName:
    """A numeric OID, with the name of the known object it is an instance of."""
    parts = oid.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        name = _BY_OID.get(".".join(parts[:cut]))
        if name is not None:
            return ObjectName(oid, name, MappingProxyType(ENUMS.get(name, {})))
    return ObjectName(oid)
