"""Several instances as one monitor, sharing one store.

- `quorum`: a target's combined state from the states of the locations that probe it
  (pure logic, no I/O).
- `locations`: what this instance publishes about its location and reads of the others
  through the store (`monitor.store.protocols.Locations`), which locations are stale,
  and which instance decides the combined state.
"""
