"""Target-level judgements applied to every raw probe result, whatever its kind.

Probes report facts (duration, a certificate's or a domain registration's expiry);
whether that makes the target DEGRADED (`degraded_after`, the kind's warning days such as
`cert_warn_days`) or failed (`down_after`, an expired certificate or domain) is decided
here, once, so every kind behaves alike. What expires is the kind's `Expiry`
(`monitor.probes.base`): a certificate unless the kind declares otherwise.

Days until an expiry are counted once, by `days_left` (rounded to the nearest day), and
said by `expiring_detail`: the result's detail here and the "cert" alert's headline and
detail (`monitor.alerting.policy`) give the same number.
"""

from __future__ import annotations

import dataclasses
import time

from monitor.config import Target
from monitor.probes import Expiry, expiry_of
from monitor.result import Reason, Result

DAY = 86400.0


def assess(target: Target, result: Result, now: float | None = None) -> Result:
    """`result` with the target's thresholds applied, in order of severity: expired,
    `down_after`, inside the warning window, `degraded_after`."""
    if not result.ok:
        return result
    now = time.time() if now is None else now
    expiry = expiry_of(target.kind)
    at = expiry.at(result)
    if at is not None and at <= now:
        return dataclasses.replace(
            result,
            ok=False,
            degraded=False,
            reason=expiry.expired,
            detail=f"{expiry.words} expired {_days(days_left(now, at))} ago",
        )
    if target.down_after is not None and result.duration > target.down_after:
        return dataclasses.replace(
            result,
            ok=False,
            degraded=False,
            reason=Reason.TOO_SLOW,
            detail=f"answered in {_ms(result.duration)} (slower than down_after, {_ms(target.down_after)})",
        )
    warn = expiry.warn_days(target)
    if at is not None and warn and at - now <= max(warn) * DAY:
        return dataclasses.replace(
            result,
            degraded=True,
            reason=expiry.expiring,
            detail=expiring_detail(expiry, days_left(at, now)),
        )
    if target.degraded_after is not None and result.duration > target.degraded_after and not result.degraded:
        return dataclasses.replace(
            result,
            degraded=True,
            reason=Reason.SLOW,
            detail=f"answered in {_ms(result.duration)} (slower than {_ms(target.degraded_after)})",
        )
    return result


def days_left(at: float, now: float) -> int:
    """Whole days from `now` until `at`, rounded to the nearest day: the one count of an
    expiry's days, wherever it is shown."""
    return round((at - now) / DAY)


def expiring_detail(expiry: Expiry, days: int) -> str:
    """`certificate expires in 10 days`: the detail of an expiry inside its warning days."""
    return f"{expiry.words} expires in {_days(days)}"


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
