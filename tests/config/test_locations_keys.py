"""The keys of several locations: `[monitor] location`, `quorum` (in `[defaults]` or a
target) and a target's `locations`."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.loader import load_config
from monitor.errors import ConfigError

RULE = "must be lowercase letters, digits and '-' (e.g. \"sampit\")"


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_a_single_instance_is_location_local_and_every_target_majority_everywhere(tmp_path: Path) -> None:
    config = load(tmp_path, '[targets.web]\nurl = "http://127.0.0.1/"\n')
    assert config.settings.location == "local"
    web = config.targets["web"]
    assert (web.locations, web.quorum, web.probed_at("local"), web.probed_at("sampit")) == ((), None, True, True)


def test_quorum_is_inherited_from_defaults_and_locations_restrict_where_a_target_is_probed(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[monitor]
location = "sampit"

[defaults]
quorum = 2

[targets.web]
url = "http://127.0.0.1/"
locations = ["sampit", "jakarta"]

[targets.gate]
url = "http://127.0.0.1/"
locations = ["palangka-raya"]
quorum = "majority"
""",
    )
    assert config.settings.location == "sampit"
    web, gate = config.targets["web"], config.targets["gate"]
    assert (web.quorum, web.locations, web.probed_at("sampit")) == (2, ("sampit", "jakarta"), True)
    assert (gate.quorum, gate.probed_at("sampit")) == (None, False)


def test_bad_location_names_and_quorums_are_reported_with_their_key_and_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """[monitor]
location = "Sampit Kota"

[targets.web]
url = "http://127.0.0.1/"
locations = ["a", "B_2"]
quorum = 3

[targets.mail]
url = "http://127.0.0.1/"
quorum = 0
""",
    )
    file = tmp_path / "targets.toml"
    assert found == [
        f"{file}:2: monitor.location: location 'Sampit Kota' {RULE}",
        f"{file}:6: targets.web.locations: location 'B_2' {RULE}",
        f"{file}:7: targets.web.quorum: is 3, more than the 2 locations that probe it",
        f'{file}:11: targets.mail.quorum: must be "majority" or a number of locations (1 or more), not 0',
    ]
