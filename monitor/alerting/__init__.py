"""Alerting: from state changes to delivered messages, none lost.

- `policy`: what to send when (down, up, reminders, escalation, certificates,
  flapping, dependencies, maintenance), driven by state changes, not samples;
- `service`: `Alerting`, which owns the policy, the outbox and the dispatcher;
- `dispatcher`: one worker per notifier draining the durable outbox with backoff;
- `deadman`: the dead-man's switch pinged while probing is healthy;
- `notifytest`: `monitor notify-test`;
- on call: `oncall` (the desk), `ack` and `mute` (their records), `book` (the
  acknowledgements and mutes as the store holds them, followed by every instance
  sharing it), `duty` (rosters), `silences` (Alertmanager's).

The outbox itself is the store's (`monitor.store.protocols.Outbox`); the channels are
`monitor.notifiers`.
"""
