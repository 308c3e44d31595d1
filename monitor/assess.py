"""Target-level judgements applied to every raw probe result, whatever its kind.

Probes report facts (duration, certificate expiry); whether that makes the target
DEGRADED (`degraded_after`, `cert_warn_days`) or failed (an expired certificate) is
decided here, once, so every kind behaves alike.
"""

from __future__ import annotations

import dataclasses
import time

from monitor.config import Target
from monitor.result import Reason, Result

DAY = 86400.0


def assess(target: Target, result: Result, now: float | None = None) -> Result:
    """`result` with the target's thresholds applied."""
    if not result.ok:
        return result
    now = time.time() if now is None else now
    if result.cert_expiry is not None:
        left = result.cert_expiry - now
        if left <= 0:
            return dataclasses.replace(
                result,
                ok=False,
                degraded=False,
                reason=Reason.CERT_EXPIRED,
                detail=f"certificate expired {-left / DAY:.0f} days ago",
            )
        if target.cert_warn_days and left <= max(target.cert_warn_days) * DAY:
            return dataclasses.replace(
                result,
                degraded=True,
                reason=Reason.CERT_EXPIRING,
                detail=f"certificate expires in {left / DAY:.0f} days",
            )
    if target.degraded_after is not None and result.duration > target.degraded_after:
        return dataclasses.replace(
            result,
            degraded=True,
            reason=Reason.SLOW,
            detail=f"answered in {result.duration * 1000:.0f} ms (slower than {target.degraded_after * 1000:.0f} ms)",
        )
    return result
