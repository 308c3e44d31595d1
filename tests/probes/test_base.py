"""The probe seam's promise about secrets: no spec shows one in its repr (logs, tracebacks)."""

from __future__ import annotations

from pathlib import Path

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
