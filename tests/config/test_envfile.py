"""The environment file the admin UI writes secrets to, read by every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor.config.envfile import env_file_for, read_env_file, write_values

CONFIG = '[targets.cam]\nurl = "rtsp://viewer:${CCTV_PASSWORD}@127.0.0.1:554/ch1"\n'


def validate(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "validate", "-c", str(tmp_path / "targets.toml")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
    )


def test_monitor_reads_the_environment_file_beside_its_configuration(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text(CONFIG)
    unset = validate(tmp_path)
    assert unset.returncode == 2 and "CCTV_PASSWORD is not set" in unset.stdout + unset.stderr
    write_values(tmp_path / "monitor.env", {"CCTV_PASSWORD": "rahasia kamera"})
    assert validate(tmp_path).returncode == 0
    elsewhere = tmp_path / "elsewhere.env"
    assert env_file_for(tmp_path / "targets.toml", {"MONITOR_ENV_FILE": str(elsewhere)}) == elsewhere


def test_writing_keeps_the_other_lines_and_quotes_what_needs_it(tmp_path: Path) -> None:
    path = tmp_path / "monitor.env"
    path.write_text("# secrets\nTELEGRAM_BOT_TOKEN=123:abc\nOLD=1\n")
    path.chmod(0o640)
    write_values(path, {"OLD": "two words", "NEW": "x$y"})
    assert path.read_text() == '# secrets\nTELEGRAM_BOT_TOKEN=123:abc\nOLD="two words"\nNEW="x$y"\n'
    assert path.stat().st_mode & 0o777 == 0o640
    assert read_env_file(path) == {"TELEGRAM_BOT_TOKEN": "123:abc", "OLD": "two words", "NEW": "x$y"}
    assert env_file_for(tmp_path / "targets.toml", {}) == path
