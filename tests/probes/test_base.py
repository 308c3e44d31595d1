"""The probe seam's promises: no spec shows a secret in its repr (logs, tracebacks), and
what the kinds declare on their records adds up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from monitor.config import Target
from monitor.metrics.exposition import SHARED_GAUGES
from monitor.probes import PROBES
from monitor.result import Reason, Result
from tests.probes.configfile import loader

TOKEN = "push-token-0123456789abcdef"
MONITOR = Path(__file__).resolve().parents[2] / "monitor"


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
    names = [*SHARED_GAUGES, *(name for k in kinds for name in k.gauges), *(name for k in kinds for name in k.metrics)]
    assert sorted(names) == sorted(set(names))


@pytest.mark.parametrize("result", [Result(False, Reason.TIMEOUT), Result(True, status_code=200, phases={"tls": 0.1})])
def test_a_kind_s_samples_write_each_of_its_gauges_whatever_the_result(result: Result) -> None:
    for kind in PROBES.values():
        target = Target(id="t", name="t", kind=kind.name, url=None, spec=None)
        written = [name for name, _labels, _value in kind.samples(target, result)] if kind.samples else []
        assert list(dict.fromkeys(written)) == list(kind.gauges), kind.name


def kind_tests(package: Path) -> list[str]:
    """Where code outside `probes/` compares a `.kind` with a probe kind's name."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] == "probes":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            literals = {c.value for o in operands for c in ast.walk(o) if isinstance(c, ast.Constant)}
            if literals & set(PROBES) and any(isinstance(o, ast.Attribute) and o.attr == "kind" for o in operands):
                found.append(f"{path.relative_to(package)}:{node.lineno}")
    return found


def test_no_code_outside_the_probes_tests_a_kind_by_its_name() -> None:
    # What a kind needs elsewhere it declares on its ProbeKind (gauges, passive).
    assert kind_tests(MONITOR) == []
