"""What a probe returns, what state a target is in, and what a change of state is.

These are immutable values passed between stages: probe -> state machine -> store,
metrics, status page and alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NoReturn


class Reason:
    """Machine reasons for a probe's outcome (`Result.reason`). Probes may add their own;
    these are the shared ones. The status page and alerts describe each in plain words."""

    OK = "ok"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    DNS_ERROR = "dns_error"
    NETWORK_UNREACHABLE = "network_unreachable"
    TLS_ERROR = "tls_error"
    CERT_EXPIRED = "cert_expired"
    CERT_EXPIRING = "cert_expiring"
    STATUS_MISMATCH = "status_mismatch"
    BODY_MISMATCH = "body_mismatch"
    HEADER_MISMATCH = "header_mismatch"
    JSON_MISMATCH = "json_mismatch"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    INVALID_RESPONSE = "invalid_response"
    RESPONSE_TOO_LARGE = "response_too_large"
    EXPECT_MISMATCH = "expect_mismatch"
    SLOW = "slow"
    AUTH_FAILED = "auth_failed"
    STREAM_NOT_FOUND = "stream_not_found"
    PACKET_LOSS = "packet_loss"
    PERMISSION_DENIED = "permission_denied"
    NO_HEARTBEAT = "no_heartbeat"
    REPORTED_DOWN = "reported_down"
    MAINTENANCE = "maintenance"
    DEPENDENCY_DOWN = "dependency_down"
    ERROR = "error"
    # The monitor itself could not run the probe (out of descriptors or memory): no
    # verdict on the target. The runtime retries and never feeds it to the state machine.
    MONITOR_ERROR = "monitor_error"
    # The monitor itself is offline (every `[monitor] connectivity` check fails): a target
    # it cannot reach meanwhile is held UNKNOWN with this reason, not judged DOWN.
    MONITOR_OFFLINE = "monitor_offline"
    # Several locations (`monitor.cluster.quorum`): some fail but fewer than the quorum;
    # no location reported within 3 × interval.
    LOCATIONS_FAILING = "locations_failing"
    NO_LOCATION_REPORTING = "no_location_reporting"
    PAUSED = "paused"  # `paused = true`: not probed, no verdict (UNKNOWN) until resumed
    # Cameras that stream, domains that expire, HTTP codings and speed (devices, 2nd wave)
    NO_VIDEO = "no_video"
    DOMAIN_EXPIRED = "domain_expired"
    DOMAIN_EXPIRING = "domain_expiring"
    DOMAIN_NOT_FOUND = "domain_not_found"
    RDAP_ERROR = "rdap_error"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    TOO_SLOW = "too_slow"
    # snmp (monitor.probes.snmp)
    SNMP_TIMEOUT = "snmp_timeout"
    SNMP_AUTH = "snmp_auth"
    SNMP_NO_SUCH_OBJECT = "snmp_no_such_object"
    VALUE_MISMATCH = "value_mismatch"
    # ups (monitor.probes.ups): what a guard on duty must hear about the power
    ON_BATTERY = "on_battery"
    LOW_BATTERY = "low_battery"
    REPLACE_BATTERY = "replace_battery"
    UPS_OVERLOAD = "ups_overload"
    UPS_BYPASS = "ups_bypass"
    UPS_OFF = "ups_off"
    UPS_ALARM = "ups_alarm"
    UPS_DATA_STALE = "ups_data_stale"
    UPS_NOT_FOUND = "ups_not_found"


# The failures that say a probe never reached its target: no route, no name, no
# connection, no answer. The monitor's own lost uplink explains these, so while it is
# offline such a failure of an external target is no verdict (`monitor.runtime`); any
# other failure means the target answered, wrongly (HTTP 500, an expired certificate),
# and is judged as always.
UNREACHED: frozenset[str] = frozenset(
    {
        Reason.TIMEOUT,
        Reason.CONNECTION_REFUSED,
        Reason.CONNECTION_RESET,
        Reason.DNS_ERROR,
        Reason.NETWORK_UNREACHABLE,
        Reason.TLS_ERROR,
        Reason.PACKET_LOSS,
        Reason.SNMP_TIMEOUT,
        Reason.RDAP_ERROR,
        Reason.NO_HEARTBEAT,
    }
)


class _Sealed(dict[str, float]):
    """An empty dict nothing may fill: the one every result without phases or extras
    shares. A dict, so a result still pickles, deep-copies (`dataclasses.asdict`) and
    serializes as JSON, which a mappingproxy does not."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("a result's phases and extras are read-only")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = __ior__ = _refuse


_NOTHING: Mapping[str, float] = _Sealed()


@dataclass(frozen=True, slots=True)
class Result:
    """One probe's outcome. Probes return these, they never raise for a failing target.

    `ok` is False for a failure; `degraded` marks a success that is slow or whose
    certificate is inside its warning window. `phases` holds durations in seconds keyed by
    phase name (http: resolve, connect, tls, processing, transfer; dns: resolve).
    `extra` holds kind-specific gauge values keyed by their full metric name (the kind
    declares each in its `ProbeKind.metrics`), with its labels for a labelled gauge
    (`probe_snmp_value{oid="IF-MIB::ifOperStatus.3"}`).
    """

    ok: bool
    reason: str = Reason.OK
    detail: str = ""
    duration: float = 0.0
    started: float = 0.0  # unix time the probe started
    degraded: bool = False
    status_code: int | None = None
    cert_expiry: float | None = None  # unix time of the earliest certificate expiry seen
    # One shared empty mapping by default, not a dict per result (100,000 targets each
    # keep their last result); nothing writes into a result's mappings.
    phases: Mapping[str, float] = field(default_factory=lambda: _NOTHING)
    extra: Mapping[str, float] = field(default_factory=lambda: _NOTHING)


class State(StrEnum):
    """A target's state after thresholds, as users see it."""

    UP = "UP"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"
    MAINTENANCE = "MAINTENANCE"
    UNKNOWN = "UNKNOWN"

    @property
    def is_up(self) -> bool:
        return self in (State.UP, State.DEGRADED)


@dataclass(frozen=True, slots=True)
class Event:
    """An incident event: one target changed state. Alerts, the status page and the
    report are all built from these."""

    target: str
    at: float  # unix time
    old: State
    new: State
    reason: str
    detail: str = ""
    # The locations that saw it (`monitor.cluster`): empty on a single instance.
    locations: tuple[str, ...] = ()
