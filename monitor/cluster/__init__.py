"""Several instances as one monitor on one shared store.

- `rendezvous`: which live member of a location probes a target (highest random weight);
- `replicas`: `Cluster`, this instance's membership (its row renewed every
  `RENEW_SECONDS`, the live members read back, the sender's lease taken or kept) and the
  targets it owns.

The rows and the lease live in the store (`monitor.store.protocols.Membership`); on a
store of one instance (SQLite) the instance is alone, owns every target and sends.
"""

from monitor.cluster.rendezvous import owner
from monitor.cluster.replicas import DEAD_AFTER, LEASE_SECONDS, RENEW_SECONDS, Cluster, instance_id

__all__ = ["DEAD_AFTER", "LEASE_SECONDS", "RENEW_SECONDS", "Cluster", "instance_id", "owner"]
