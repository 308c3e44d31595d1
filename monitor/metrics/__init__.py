"""Prometheus metrics: `/metrics` and `/probe`.

- `registry`: `Metrics`, every series of the monitor on a registry the app owns;
- `exposition`: the text format written directly (prometheus-client's own rendering
  was too slow at 20,000 targets), with the blackbox-exporter samples every kind shares
  and those each probe kind declares on its `ProbeKind`.
"""
