"""Target-level judgements applied to every raw probe result, whatever its kind.

Probes report facts (duration, a certificate's or a domain registration's expiry);
whether that makes the target DEGRADED (`degraded_after`, the kind's warning days such as
`cert_warn_days`) or failed (`down_after`, an expired certificate or domain) is decided
here, once, so every kind behaves alike. What expires is the kind's `Expiry`
(`monitor.probes.base`): a certificate unless the kind declares otherwise.
"""

from __future__ import annotations

import dataclasses
import time

from monitor.config import Target
from monitor.probes import expiry_of
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
    left = None if at is None else at - now
    if left is not None and left <= 0:
        return dataclasses.replace(
            result,
            ok=False,
            degraded=False,
            reason=expiry.expired,
            detail=f"{expiry.words} expired {-left / DAY:.0f} days ago",
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
    if left is not None and warn and left <= max(warn) * DAY:
        return dataclasses.replace(
            result,
            degraded=True,
            reason=expiry.expiring,
            detail=f"{expiry.words} expires in {left / DAY:.0f} days",
        )
    if target.degraded_after is not None and result.duration > target.degraded_after and not result.degraded:
        return dataclasses.replace(
            result,
            degraded=True,
            reason=Reason.SLOW,
            detail=f"answered in {_ms(result.duration)} (slower than {_ms(target.degraded_after)})",
        )
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
