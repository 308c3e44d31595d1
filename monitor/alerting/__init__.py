"""Alerting: from state changes to delivered messages, none lost.

- `policy`: what to send when (down, up, reminders, escalation, certificates,
  flapping, dependencies, maintenance), driven by state changes, not samples;
- `service`: `Alerting`, which owns the policy, the outbox and the dispatcher;
- `dispatcher`: one worker per notifier draining the durable outbox with backoff;
- `deadman`: the dead-man's switch pinged while probing is healthy;
- `notifytest`: `monitor notify-test`.

The outbox itself is the store's (`monitor.store.protocols.Outbox`); the channels are
`monitor.notifiers`.
"""
