"""Several instances as one monitor on one shared store.

- `rendezvous`: which live member of a location probes a target (highest random weight);
- `replicas`: `Replicas`, this instance among the replicas of its location (its
  membership row renewed every `RENEW_SECONDS`, the live members read back, the
  targets it owns) and the sender's lease, taken or kept at each renewal: the one
  sender of the whole store stores the combined events and sends the alerts;
- `renewals`: `Renewals`, the membership's own thread: the renewals on their own clock
  and deadlines whatever the event loop is doing, each reading handed to the loop;
- `heartbeats`: `Pushes`, push heartbeats among replicas: stored by whichever instance
  a push reached, judged by the owner of its target;
- `quorum`: a target's combined state from the states of the locations that probe it
  (pure logic, no I/O);
- `locations`: `Cluster`, what the other locations published through the store, which
  of them are stale;
- `member`: `Member`, the runtime's side of several locations: publish and read every
  few seconds, combine onto `Monitor.states`, stale locations to the alerting;
- `view`: `ReplicaView`, replicas of the default location on a shared store: each
  publishes its targets' states and shows the others' (their prober decides and alerts).

The rows live in the store (`monitor.store.protocols.Membership`, `Locations`); on a
store of one instance (SQLite) the instance is alone, owns every target and sends.
"""

from monitor.cluster.rendezvous import owner
from monitor.cluster.replicas import DEAD_AFTER, LEASE_SECONDS, RENEW_SECONDS, Replicas, instance_id

__all__ = ["DEAD_AFTER", "LEASE_SECONDS", "RENEW_SECONDS", "Replicas", "instance_id", "owner"]
