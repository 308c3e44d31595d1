"""`[admins.NAME]`: argon2id hashes and roles; `paused`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from monitor.config.accounts import hash_password, verify_password
from monitor.config.loader import load_config
from tests.config.test_loader import problems, write

TARGET = '[targets.web]\nurl = "https://example.go.id/"\n'


def test_a_hash_from_monitor_passwd_logs_in_and_keeps_its_role(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "passwd", "siti"],
        input="kata sandi rahasia\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith('[admins.siti]\npassword_hash = "$argon2id$')
    assert "kata sandi" not in done.stdout + done.stderr
    config = load_config(write(tmp_path, TARGET + done.stdout + 'role = "operator"\n'), env={})
    admin = config.admins["siti"]
    assert admin.role == "operator"
    assert verify_password(admin.password_hash, "kata sandi rahasia")
    assert not verify_password(admin.password_hash, "kata sandi salah")
    assert not verify_password(None, "kata sandi rahasia")  # no account: refused all the same


def test_monitor_passwd_refuses_an_empty_password() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "passwd", "siti"], input="\n", capture_output=True, text=True
    )
    assert done.returncode == 2 and "empty password" in done.stderr


def test_it_names_a_bad_hash_and_an_unknown_role_without_quoting_the_hash(tmp_path: Path) -> None:
    found = problems(tmp_path, TARGET + '[admins.budi]\npassword_hash = "plain-text-secret"\nrole = "root"\n')
    assert any("admins.budi.password_hash" in p and "not an argon2 hash" in p for p in found)
    assert any("admins.budi.role" in p and "'viewer', 'operator', 'admin'" in p for p in found)
    assert not any("plain-text-secret" in p for p in found)


def test_an_argon2i_hash_is_refused(tmp_path: Path) -> None:
    from argon2 import PasswordHasher, Type

    legacy = PasswordHasher(type=Type.I).hash("x")
    found = problems(tmp_path, TARGET + f'[admins.budi]\npassword_hash = "{legacy}"\n')
    assert any("must be an argon2id hash" in p for p in found)


def test_a_paused_target_is_kept_but_not_probed(tmp_path: Path) -> None:
    from monitor.runtime import probed

    config = load_config(write(tmp_path, TARGET + 'paused = true\n[targets.b]\nurl = "https://b.go.id/"\n'), env={})
    assert config.targets["web"].paused
    assert [t.id for t in probed(config)] == ["b"]
    assert hash_password("x") != hash_password("x")  # salted


def test_a_file_gone_from_under_the_editor_is_a_clear_refusal(tmp_path: Path) -> None:
    import pytest

    from monitor.config.edit import ConfigFile, Unwritable, set_table, targets_table

    path = write(tmp_path, TARGET)
    file = ConfigFile(path)
    path.rename(tmp_path / "moved.toml")  # moved away by hand meanwhile
    with pytest.raises(Unwritable) as info:
        file.write(lambda d: set_table(targets_table(d), "b", {"url": "https://b.go.id/"}))
    assert "cannot write" in str(info.value) and "No such file" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moved.toml"]


def test_no_diff_of_the_file_shows_a_password_hash_not_even_a_conflicts(tmp_path: Path) -> None:
    import pytest

    from monitor.config.edit import ConfigFile, Conflict, set_table, targets_table

    old, new = hash_password("lama sekali"), hash_password("baru sekali")
    path = write(tmp_path, f'[admins.siti]\npassword_hash = "{old}"\nrole = "admin"\n\n' + TARGET)
    file = ConfigFile(path)
    _, seen = file.read()
    path.write_text(path.read_text().replace(old, new))  # a hand edit meanwhile: a new hash
    with pytest.raises(Conflict) as info:
        file.write(lambda d: set_table(targets_table(d), "b", {"url": "https://b.go.id/"}), seen)
    assert '-password_hash = "…"\n+password_hash = "…(changed)"\n' in info.value.diff
    written = file.write(lambda d: d["admins"]["siti"].update({"role": "operator"}))  # type: ignore[union-attr]
    assert ' password_hash = "…"\n-role = "admin"\n+role = "operator"\n' in written.diff
    assert "$argon2" not in info.value.diff + written.diff
