"""Alertmanager silences for mutes and acknowledgements.

An `alertmanager` notifier with `silences = true` that a target's alerts go to gets,
for each mute or acknowledgement of that target, a silence through its v2 API
(`POST /api/v2/silences`) matching the target's alerts: `target` equal to the target's
id, and each of the notifier's own `labels` (so another monitor's alerts of the same
name stay loud). A mute's silence ends with the mute (`endsAt`); removing the mute
early, or the acknowledged outage ending, expires it (`DELETE /api/v2/silence/{id}`).
An acknowledgement's silence lasts `ACK_SILENCE_SECONDS` at most.

Alertmanager being down never stops the mute or the acknowledgement: the failure is
logged and the action goes on without its silence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import httpx

from monitor.config import Config, Target
from monitor.log import kv
from monitor.notifiers.texts import iso_utc

log = logging.getLogger("monitor.oncall")
ACK_SILENCE_SECONDS = 86400.0
Silence = tuple[str, str]  # (notifier, silence id)


class Silences:
    """Creates and expires the silences of mutes and acknowledgements."""

    def __init__(self, client: httpx.AsyncClient, config: Config) -> None:
        self.client, self.config = client, config

    def receivers(self, target: Target) -> list[str]:
        """The Alertmanager notifiers with `silences = true` the target's alerts go to."""
        out = []
        for name in target.notify:
            notifier = self.config.notifiers.get(name)
            if notifier is not None and notifier.type == "alertmanager" and getattr(notifier.spec, "silences", False):
                out.append(name)
        return out

    async def create(self, target: Target, start: float, end: float, who: str, comment: str) -> tuple[Silence, ...]:
        made: list[Silence] = []
        for name in self.receivers(target):
            spec = self.config.notifiers[name].spec
            matchers = [{"name": "target", "value": target.id, "isRegex": False, "isEqual": True}]
            matchers += [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in spec.labels]
            body: dict[str, Any] = {
                "matchers": matchers,
                "startsAt": iso_utc(start),
                "endsAt": iso_utc(end),
                "createdBy": who or "monitor",
                "comment": comment,
            }
            try:
                response = await self.client.post(
                    f"{spec.url}/api/v2/silences", json=body, headers=dict(spec.headers), timeout=spec.timeout
                )
                response.raise_for_status()
                made.append((name, str(response.json()["silenceID"])))
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("silence not created", extra=kv(notifier=name, target=target.id, error=_error(exc)))
        return tuple(made)

    async def expire(self, silences: Iterable[Silence]) -> None:
        for name, ident in silences:
            notifier = self.config.notifiers.get(name)
            if notifier is None or notifier.type != "alertmanager":
                continue
            spec = notifier.spec
            try:
                response = await self.client.delete(
                    f"{spec.url}/api/v2/silence/{ident}", headers=dict(spec.headers), timeout=spec.timeout
                )
                if response.status_code != 404:  # expired or gone already: nothing to do
                    response.raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("silence not expired", extra=kv(notifier=name, silence=ident, error=_error(exc)))


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
