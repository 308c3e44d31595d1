"""The configuration contract: the example passes, every kind of mistake is named."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from monitor.config.loader import load_config
from monitor.config.reader import format_duration, parse_duration
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env=env or {})
    return [str(p) for p in info.value.problems]


def test_the_bundled_example_is_valid_without_any_environment_variable() -> None:
    config = load_config(ROOT / "targets.toml", env={})
    assert "website" in config.targets
    assert config.settings.language == "id"
    assert config.targets["nvr-setda"].depends_on == ("gateway",)
    assert not config.targets["gateway"].public
    assert config.watches and config.maintenance


def test_it_inherits_defaults_and_lets_a_target_override_them(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[defaults]
interval = "1m"
timeout = "5s"
failure_threshold = 4
[targets.a]
url = "http://127.0.0.1:1/"
[targets.b]
url = "http://127.0.0.1:1/"
interval = "10s"
""",
        ),
        env={},
    )
    a, b = config.targets["a"], config.targets["b"]
    assert (a.interval, a.timeout, a.failure_threshold) == (60.0, 5.0, 4)
    assert (b.interval, b.failure_threshold) == (10.0, 4)


def test_it_substitutes_environment_variables_in_any_string(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[targets.a]
name = "${NAME} ${MISSING:-fallback} $${literal}"
url = "http://${HOST}:8080/"
""",
        ),
        env={"NAME": "Web", "HOST": "127.0.0.1"},
    )
    assert config.targets["a"].name == "Web fallback ${literal}"
    assert config.targets["a"].url == "http://127.0.0.1:8080/"


def test_it_names_a_missing_environment_variable_with_its_key_and_line(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1/"\nname = "${SECRET_NAME}"\n')
    assert any(":3: targets.a.name: environment variable SECRET_NAME is not set" in p for p in found)


def test_without_notifier_secrets_a_notifier_missing_a_variable_is_let_be_and_the_rest_still_checked(
    tmp_path: Path,
) -> None:
    text = (
        '[notifiers.hook]\ntype = "webhook"\nurl = "${HOOK_URL}"\nsecret = "${HMAC}"\n'
        '[notifiers.mail]\ntype = "email"\nhost = "smtp.example.go.id"\nfrom = "m@example.go.id"\nto = []\n'
        '[targets.a]\nurl = "http://127.0.0.1/"\nnotify = ["hook", "pager"]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={}, notifier_secrets=False)
    found = [f"{p.path}: {p.message}" for p in info.value.problems]
    assert found == [
        "notifiers.mail.to: is required: a list of addresses",
        "targets.a.notify[1]: no notifier named 'pager'",
    ]
    config = load_config(
        write(tmp_path, text.replace("to = []", 'to = ["a@example.go.id"]').replace(', "pager"', "")),
        env={},
        notifier_secrets=False,
    )
    assert set(config.notifiers) == {"hook", "mail"} and config.targets["a"].notify == ("hook",)
    assert any("environment variable HOOK_URL is not set" in p for p in problems(tmp_path, text))


def test_it_rejects_an_unknown_key_with_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1/"\nintervall = "30s"\n')
    assert found == [f"{tmp_path / 'targets.toml'}:3: targets.a.intervall: unknown key"]


def test_a_target_without_url_is_told_the_passive_kinds_it_could_be(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nname = "A"\n')
    assert any(p.endswith('targets.a.url: is required (or kind = "push" for a passive target)') for p in found), found


def test_it_rejects_a_bad_duration(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1/"\ninterval = "30 seconds"\n')
    assert len(found) == 1 and "targets.a.interval" in found[0] and "is not a duration" in found[0]


def test_it_rejects_a_number_where_a_duration_is_expected(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1/"\ntimeout = 10\n')
    assert "targets.a.timeout: must be a duration string" in found[0]


def test_it_rejects_an_unsupported_scheme(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "ftp://files.example/"\n')
    assert "targets.a.url: unsupported scheme 'ftp://'" in found[0]


def test_it_rejects_an_unsafe_id(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets."web site/1"]\nurl = "http://127.0.0.1/"\n')
    assert "targets.web site/1: target id must be" in found[0]


def test_it_rejects_a_dependency_cycle_and_an_unknown_dependency(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[targets.a]
url = "http://127.0.0.1/"
depends_on = ["b"]
[targets.b]
url = "http://127.0.0.1/"
depends_on = ["a", "ghost"]
""",
    )
    assert any("dependency cycle: a -> b -> a" in p for p in found)
    assert any("targets.b.depends_on[1]: no target named 'ghost'" in p for p in found)


def test_it_reports_a_toml_syntax_error_with_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1/\n')
    assert len(found) == 1 and "TOML syntax error" in found[0] and ":2:" in found[0]


def test_it_reports_every_problem_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[monitor]
language = "fr"
timezone = "Mars/Olympus"
[targets.a]
url = "http://127.0.0.1/"
failure_threshold = 0
notify = ["nobody"]
""",
    )
    joined = "\n".join(found)
    for needle in ("monitor.language", "monitor.timezone", "targets.a.failure_threshold", "targets.a.notify[0]"):
        assert needle in joined
    assert len(found) == 4


def test_it_requires_a_timeout_no_longer_than_the_interval(tmp_path: Path) -> None:
    found = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1/"\ninterval = "5s"\ntimeout = "10s"\n')
    assert "targets.a.timeout: must not exceed the interval" in found[0]


def test_it_checks_maintenance_and_watch_windows(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[targets.a]
url = "http://127.0.0.1/"
[[maintenance]]
targets = ["b"]
start = 2026-01-02T00:00:00+07:00
end = 2026-01-01T00:00:00+07:00
[[watch]]
name = "w"
start = 2026-01-01T00:00:00
""",
    )
    joined = "\n".join(found)
    assert "maintenance[0].end: must be after start" in joined
    assert "maintenance[0].targets: no target named 'b'" in joined
    assert "watch[0]: needs both start and end" in joined


def test_relative_paths_are_relative_to_the_configuration_folder(tmp_path: Path) -> None:
    text = '[monitor]\ndata_dir = "var"\n[targets.a]\nurl = "http://127.0.0.1/"\n'
    config = load_config(write(tmp_path, text), env={})
    assert config.settings.data_dir == tmp_path / "var"


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("30s", 30), ("5m", 300), ("2h", 7200), ("14d", 14 * 86400), ("1h30m", 5400)]
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_durations_format_back() -> None:
    assert format_duration(5400) == "1h30m" and format_duration(0.25) == "250ms"


def test_a_mistyped_heartbeat_url_is_reported_without_its_secret_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[monitor]
heartbeat_url = "hc-ping.com/5b1f0c7e-secret-check-key"
[targets.a]
url = "http://127.0.0.1:1/"
""",
    )
    assert len(found) == 1 and "heartbeat_url" in found[0]
    assert "must be an http:// or https:// URL" in found[0]
    assert "secret-check-key" not in found[0]


def test_metrics_listen_is_an_address_other_than_listen(tmp_path: Path) -> None:
    target = '[targets.a]\nurl = "http://127.0.0.1:1/"\n'
    config = load_config(write(tmp_path, f'[monitor]\nmetrics_listen = "127.0.0.1:9100"\n{target}'), env={})
    assert config.settings.metrics_listen == "127.0.0.1:9100"
    assert load_config(write(tmp_path, target), env={}).settings.metrics_listen is None
    (bad,) = problems(tmp_path, f'[monitor]\nmetrics_listen = "9100"\n{target}')
    assert "monitor.metrics_listen: must be HOST:PORT" in bad
    (same,) = problems(tmp_path, f'[monitor]\nlisten = "0.0.0.0:8080"\nmetrics_listen = "0.0.0.0:8080"\n{target}')
    assert "monitor.metrics_listen: must differ from listen" in same


def read_problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return [str(p) for p in info.value.problems]


def test_a_binary_file_is_a_problem_naming_the_file_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00 binary")
    (found,) = read_problems(path)
    assert found.startswith(f"{path}: cannot read the file: it is not UTF-8 text")


def test_a_file_nested_too_deeply_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (found,) = read_problems(path)
    assert found == f"{path}: TOML syntax error: nested too deeply"


def test_a_folder_or_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    assert read_problems(tmp_path) == [f"{tmp_path}: cannot read the file: Is a directory"]
    assert read_problems(tmp_path / "nope.toml") == [
        f"{tmp_path / 'nope.toml'}: cannot read the file: No such file or directory"
    ]


def test_the_configuration_knows_the_hash_of_the_bytes_it_was_read_from(tmp_path: Path) -> None:
    import hashlib

    text = '[targets.a]\r\nurl = "http://127.0.0.1:1/"\r\n'
    path = write(tmp_path, text)
    config = load_config(path, env={})
    assert config.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert config.targets["a"].url == "http://127.0.0.1:1/"


SECRET_ENV = {
    "LISTEN": "10.9.8.7-secret-listen",
    "LANGUAGE": "secret-language",
    "ZONE": "Secret/Zone",
    "TIMEOUT": "soon-secret-timeout",
    "THRESHOLD": "many-secret-threshold",
    "METHOD": "SECRET METHOD",
    "STATUS": "secret-status",
    "TOKEN": "short",
    "PASSWORD": "pw",
    "SECURITY": "secret-security",
    "HOOK_KEY": "T000-B000-secret-key",
    "NAME": "secret-notifier",
}
SECRET_FILE = """
[monitor]
listen = "${LISTEN}"
language = "${LANGUAGE}"
timezone = "${ZONE}"
[targets.a]
url = "http://127.0.0.1:1/"
timeout = "${TIMEOUT}"
failure_threshold = "${THRESHOLD}"
method = "${METHOD}"
expect_status = ["${STATUS}"]
notify = ["${NAME}"]
[targets.job]
kind = "push"
period = "1h"
token = "${TOKEN}"
[notifiers.hook]
type = "webhook"
url = "ftp://hooks.example.com/services/${HOOK_KEY}"
[notifiers.mail]
type = "email"
host = "127.0.0.1"
from = "monitor@example.com"
to = ["ops@example.com"]
username = "monitor"
password = "${PASSWORD}"
security = "${SECURITY}"
"""


def test_a_value_from_the_environment_is_never_quoted_in_a_problem(tmp_path: Path) -> None:
    found = problems(tmp_path, SECRET_FILE, env=SECRET_ENV)
    text = "\n".join(found)
    for name, value in SECRET_ENV.items():
        if len(value) >= 4:
            assert value not in text, name
    assert "'short'" not in text and "'pw'" not in text
    # Each problem still says what is wrong, and where the value came from.
    for key, words in [
        ("monitor.listen", "must be HOST:PORT, not '${LISTEN}' (from the environment)"),
        ("monitor.language", "not '${LANGUAGE}' (from the environment)"),
        ("monitor.timezone", "unknown time zone '${ZONE}' (from the environment)"),
        ("targets.a.timeout", "'${TIMEOUT}' (from the environment) is not a duration"),
        ("targets.a.failure_threshold", "must be an integer, not the string '${THRESHOLD}' (from the environment)"),
        ("targets.a.method", "'${METHOD}' (from the environment) is not an HTTP method"),
        ("targets.a.expect_status", "'${STATUS}' (from the environment) is neither a status code"),
        ("targets.job.token", "must be at least"),
        ("notifiers.hook.url", ""),
        ("notifiers.mail.security", "not '${SECURITY}' (from the environment)"),
        ("targets.a.notify[0]", "no notifier named '${NAME}' (from the environment)"),
    ]:
        assert any(f"{key}: " in p and words in p for p in found), (key, found)


def test_a_value_written_in_the_file_is_still_quoted(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, '[targets.a]\nurl = "http://127.0.0.1:1/"\ntimeout = "soon"\n')
    assert "'soon' is not a duration" in found


# --- [monitor] connectivity and a target's `external` ---------------------------------


def test_connectivity_checks_are_probes_validated_like_targets_urls(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[monitor]
connectivity = [
  "dns://127.0.0.1/example.com",
  { url = "https://127.0.0.1:8443/ok", name = "site", interval = "30s", timeout = "3s", expect_status = [204] },
  "",
]
[targets.a]
url = "http://127.0.0.1:1/"
""",
        ),
        env={},
    )
    dns, site = config.settings.connectivity
    assert (dns.id, dns.kind, dns.interval, dns.timeout) == ("dns-1", "dns", 15.0, 5.0)
    assert (site.id, site.kind, site.interval, site.timeout) == ("site", "http", 30.0, 3.0)
    assert site.spec.expect.status == frozenset({204})


def test_without_connectivity_there_are_no_checks(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[targets.a]\nurl = "http://127.0.0.1:1/"\n'), env={})
    assert config.settings.connectivity == ()


def test_the_example_leaves_its_checks_to_the_environment() -> None:
    assert load_config(ROOT / "targets.toml", env={}).settings.connectivity == ()
    env = {"MONITOR_UPLINK_DNS": "dns://192.0.2.53/example.com", "MONITOR_UPLINK_WEB": "https://example.com/"}
    checks = load_config(ROOT / "targets.toml", env=env).settings.connectivity
    assert [(c.id, c.url) for c in checks] == [
        ("dns-1", env["MONITOR_UPLINK_DNS"]),
        ("http-2", env["MONITOR_UPLINK_WEB"]),
    ]


def test_a_bad_connectivity_check_is_named_with_its_place(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[monitor]
connectivity = [
  "gopher://example.com/",
  { url = "domain://example.com" },
  { url = "tcp://127.0.0.1:53", colour = "red" },
  { name = "x" },
  { url = "tcp://127.0.0.1:1", name = "same" },
  { url = "tcp://127.0.0.1:2", name = "same", timeout = "20s" },
  42,
]
[targets.a]
url = "http://127.0.0.1:1/"
""",
    )
    assert any("monitor.connectivity[0].url: unsupported scheme 'gopher://'" in p for p in found), found
    assert any(
        "monitor.connectivity[1].url: a domain probe cannot tell whether the network works now" in p for p in found
    )
    assert any("monitor.connectivity[2].colour: unknown key" in p for p in found)
    assert any("monitor.connectivity[3].url: is required" in p for p in found)
    assert any("monitor.connectivity[5].timeout: must not exceed the interval (15s)" in p for p in found)
    assert any("monitor.connectivity[6]: must be a URL or a table with a url" in p for p in found)
    assert all(":3:" in p or ":4:" in p for p in found if "connectivity" in p), found  # the line of the key


def test_two_checks_of_one_name_are_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[monitor]\nconnectivity = [{ url = "tcp://127.0.0.1:1", name = "a" },'
        ' { url = "tcp://127.0.0.1:2", name = "a" }]\n'
        '[targets.a]\nurl = "http://127.0.0.1:1/"\n',
    )
    assert any("monitor.connectivity[1].name: another check is named 'a'" in p for p in found), found


def test_a_target_on_the_monitors_own_host_is_not_external_by_default(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[monitor]
listen = "10.0.0.5:8080"
[targets.self]
url = "http://127.0.0.1:8080/healthz"
[targets.named]
url = "http://localhost:8080/healthz"
[targets.v6]
url = "tcp://[::1]:22"
[targets.listen]
url = "http://10.0.0.5:8080/healthz"
[targets.site]
url = "https://www.kotimkab.go.id/"
[targets.lan]
url = "icmp://10.10.0.1"
external = false
[targets.loop-but-external]
url = "http://127.0.0.1:9000/"
external = true
[targets.job]
kind = "push"
period = "1h"
token = "0123456789abcdef"
""",
        ),
        env={},
    )
    external = {tid: t.external for tid, t in config.targets.items()}
    assert external == {
        "self": False,
        "named": False,
        "v6": False,
        "listen": False,
        "site": True,
        "lan": False,
        "loop-but-external": True,
        "job": False,
    }


EVERY_KIND = """
[targets.api-json]
url = "https://api.example.org/health"
json = { status = "ok", data.version = 1 }
expect_headers = { content-type = "json" }
headers = { Accept = "application/json" }

[targets.switch]
url = "snmp://10.10.0.2"
oids = { "IF-MIB::ifOperStatus.3" = "== up" }

[targets.ups]
url = "nut://10.10.0.5/serverroom"
min_charge = 40

[targets.backup]
kind = "push"
period = "1h"
token = "secret-token-of-enough-length"
"""


def test_loading_leaves_no_reference_cycle_behind(tmp_path: Path) -> None:
    # `monitor run` loads with the cyclic collector paused and freezes what it made
    # (`keep`): a cycle made on the way (a closure calling itself holds its cell) would
    # be garbage that no collection ever frees, a few KB per target (BENCHMARKS.md).
    path = write(tmp_path, (ROOT / "targets.toml").read_text(encoding="utf-8") + EVERY_KIND)
    load_config(path, env={})  # once first: imports and caches of a first load are not the load's
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage to be named
    try:
        config = load_config(path, env={})
        gc.collect()
        found = sorted({getattr(o, "__qualname__", type(o).__qualname__) for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert {"api-json", "switch", "ups", "backup", "website"} <= set(config.targets)
    assert found == []
