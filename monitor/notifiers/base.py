"""The notifier seam: what every alert channel provides.

A notifier kind is a `NotifierKind`: the `type` users write in `[notifiers.*]` and a
`parse` function that reads the kind's own keys into a frozen spec stored as
`NotifierConfig.spec`. Delivery (`send`) is added by the alerting work (issue #6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.schema import Table

ParseFn = Callable[[Table], Any]


@dataclass(frozen=True)
class NotifierKind:
    """One alert channel family: `parse(table)` reads its keys (reporting problems)."""

    name: str
    parse: ParseFn
