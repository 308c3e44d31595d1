"""Prometheus metrics: `/metrics` and `/probe`.

- `registry`: `Metrics`, every series of the monitor on a registry the app owns;
- `exposition`: the text format written directly (prometheus-client's own rendering
  was too slow at 20,000 targets), and each probe kind's blackbox-exporter samples.
"""
