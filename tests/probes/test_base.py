"""The probe seam's promises: no spec shows a secret in its repr (logs, tracebacks), and
what the kinds declare on their records adds up."""

from __future__ import annotations

from pathlib import Path

from monitor.metrics.exposition import SHARED_GAUGES
from monitor.probes import PROBES
from tests.probes.configfile import loader

TOKEN = "push-token-0123456789abcdef"


def test_no_spec_shows_its_secret_in_its_repr(tmp_path: Path) -> None:
    config = loader(tmp_path)(f"""
[targets.cam]
url = "rtsp://cam.example/ch1"
username = "viewer"
password = "rtsp-secret-pw"

[targets.backup]
kind = "push"
period = "1h"
token = "{TOKEN}"

[targets.api]
url = "https://api.example/health"
bearer_token = "http-bearer-secret"
""")
    shown = " ".join(repr(t.spec) for t in config.targets.values())
    assert "viewer" in shown and "3600" in shown  # the specs are there, only secrets hidden
    for secret in ("rtsp-secret-pw", TOKEN, "http-bearer-secret"):
        assert secret not in shown


def test_no_gauge_name_is_declared_twice() -> None:
    kinds = PROBES.values()
    names = [*SHARED_GAUGES, *(g.name for k in kinds for g in k.gauges), *(name for k in kinds for name in k.metrics)]
    assert sorted(names) == sorted(set(names))
