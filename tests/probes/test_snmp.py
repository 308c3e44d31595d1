"""The snmp probe against Debian's real Net-SNMP agent (tests/probes/snmpd.py): v2c and
SNMPv3 authPriv, comparisons passing and failing, a wrong community or password, an
unknown object, an agent that never answers; and its configuration errors."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.config import Config, Settings, Target
from monitor.config.loader import load_config
from monitor.errors import ConfigError
from monitor.probes import PROBES, ProbeContext, probe_context
from monitor.probes.snmp import VALUE
from monitor.result import Reason
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore
from tests.integration import need
from tests.probes.configfile import Load, loader
from tests.probes.snmpd import AUTH_PASSWORD, PRIV_PASSWORD, V3_USER, snmpd

ONE = 'oids = { "1.3.6.1.2.1.1.3.0" = "> 0" }\n'
V3 = (
    f'username = "{V3_USER}"\nauth_protocol = "SHA-256"\nauth_password = "{{auth}}"\n'
    f'priv_protocol = "AES"\npriv_password = "{PRIV_PASSWORD}"\n'
)


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with snmpd(tmp_path_factory.mktemp("snmpd")) as port:
        yield port


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    context = probe_context()
    yield context
    await context.aclose()


def snmp_target(config_from: Load, port: int, oids: str, extra: str = "", timeout: str = "2s") -> Target:
    text = f'[targets.sw]\nurl = "snmp://127.0.0.1:{port}"\ntimeout = "{timeout}"\n{extra}\noids = {{ {oids} }}\n'
    return config_from(text).targets["sw"]


def problems(config_from: Load, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from(f'[targets.sw]\nurl = "snmp://10.10.0.2"\n{text}\n')
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


# --- against the agent ---------------------------------------------------------------


@pytest.mark.integration
async def test_v2c_values_that_pass_their_comparisons_are_up(config_from: Load, agent: int, ctx: ProbeContext) -> None:
    oids = (
        '"SNMPv2-MIB::sysUpTime.0" = "> 0", "SNMPv2-MIB::sysLocation.0" = "~ ^Ruang server", '
        '"IF-MIB::ifOperStatus.1" = "== up", "HOST-RESOURCES-MIB::hrStorageSize.1" = "> 0", '
        '"UPS-MIB::upsOutputSource.0" = "== normal", "1.3.6.1.2.1.33.1.2.4.0" = ">= 50"'
    )
    result = await PROBES["snmp"].probe(snmp_target(config_from, agent, oids), ctx)
    assert result.ok and result.reason == Reason.OK, result.detail
    assert "UPS-MIB::upsOutputSource.0 = normal(3)" in result.detail
    assert result.extra[f'{VALUE}{{oid="1.3.6.1.2.1.33.1.2.4.0"}}'] == 87.0
    assert result.extra[f'{VALUE}{{oid="IF-MIB::ifOperStatus.1"}}'] == 1.0
    assert not any("sysLocation" in key for key in result.extra)  # a text is no gauge


@pytest.mark.integration
async def test_a_value_failing_its_comparison_is_value_mismatch_with_the_value_seen(
    config_from: Load, agent: int, ctx: ProbeContext
) -> None:
    oids = '"UPS-MIB::upsEstimatedChargeRemaining.0" = ">= 90", "UPS-MIB::upsBatteryStatus.0" = "!= batteryNormal"'
    result = await PROBES["snmp"].probe(snmp_target(config_from, agent, oids), ctx)
    assert not result.ok and result.reason == Reason.VALUE_MISMATCH
    assert result.detail == (
        "UPS-MIB::upsEstimatedChargeRemaining.0 is 87, expected >= 90; "
        "UPS-MIB::upsBatteryStatus.0 is batteryNormal(2), expected != batteryNormal"
    )
    assert result.extra[f'{VALUE}{{oid="UPS-MIB::upsEstimatedChargeRemaining.0"}}'] == 87.0  # still a gauge


@pytest.mark.integration
async def test_v3_auth_priv_reads_the_values(config_from: Load, agent: int, ctx: ProbeContext) -> None:
    target = snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"', V3.format(auth=AUTH_PASSWORD))
    result = await PROBES["snmp"].probe(target, ctx)
    assert result.ok, result.detail


@pytest.mark.integration
async def test_a_wrong_v3_password_is_snmp_auth(config_from: Load, agent: int, ctx: ProbeContext) -> None:
    target = snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"', V3.format(auth="not-the-password"))
    result = await PROBES["snmp"].probe(target, ctx)
    assert not result.ok and result.reason == Reason.SNMP_AUTH
    assert f"refused user '{V3_USER}' (authPriv)" in result.detail


@pytest.mark.integration
async def test_an_unknown_v3_user_is_snmp_auth(config_from: Load, agent: int, ctx: ProbeContext) -> None:
    extra = V3.format(auth=AUTH_PASSWORD).replace(f'"{V3_USER}"', '"nobody"')
    result = await PROBES["snmp"].probe(
        snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"', extra), ctx
    )
    assert not result.ok and result.reason == Reason.SNMP_AUTH


@pytest.mark.integration
async def test_a_wrong_community_gets_no_answer_so_it_is_snmp_timeout(
    config_from: Load, agent: int, ctx: ProbeContext
) -> None:
    target = snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"', 'community = "wrong"', "500ms")
    result = await PROBES["snmp"].probe(target, ctx)
    assert not result.ok and result.reason == Reason.SNMP_TIMEOUT
    assert "wrong community" in result.detail


@pytest.mark.integration
@pytest.mark.parametrize("version", ["1", "2c"])
async def test_an_object_the_agent_does_not_have_is_snmp_no_such_object(
    config_from: Load, agent: int, ctx: ProbeContext, version: str
) -> None:
    oids = '"SNMPv2-MIB::sysUpTime.0" = "> 0", "1.3.6.1.2.1.99.1.0" = "== 1"'
    result = await PROBES["snmp"].probe(snmp_target(config_from, agent, oids, f'version = "{version}"'), ctx)
    assert not result.ok and result.reason == Reason.SNMP_NO_SUCH_OBJECT
    assert "1.3.6.1.2.1.99.1.0" in result.detail


@pytest.mark.integration
async def test_targets_share_engines_by_credentials(config_from: Load, agent: int, ctx: ProbeContext) -> None:
    v2c = snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"')
    other = snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"', 'community = "private"', "200ms")
    v3 = snmp_target(config_from, agent, '"SNMPv2-MIB::sysUpTime.0" = "> 0"', V3.format(auth=AUTH_PASSWORD))
    for target in (v2c, other, v3, v3, v2c):
        await PROBES["snmp"].probe(target, ctx)
    assert len(ctx.snmp._engines) == 2  # type: ignore[union-attr]  # one for v1/v2c, one per v3 credentials


async def test_an_agent_that_never_answers_is_snmp_timeout(config_from: Load) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never read
        silent.bind(("127.0.0.1", 0))
        target = snmp_target(config_from, silent.getsockname()[1], '"SNMPv2-MIB::sysUpTime.0" = "> 0"', "", "300ms")
        result = await PROBES["snmp"].probe(target, ProbeContext(tls=None))  # type: ignore[arg-type]
    assert not result.ok and result.reason == Reason.SNMP_TIMEOUT
    assert result.detail.startswith("no SNMP answer within 300ms")


async def test_a_name_that_does_not_resolve_is_dns_error(config_from: Load) -> None:
    config = config_from(
        '[targets.sw]\nurl = "snmp://no-such-host.invalid"\noids = { "SNMPv2-MIB::sysUpTime.0" = "> 0" }'
    )
    result = await PROBES["snmp"].probe(config.targets["sw"], ProbeContext(tls=None))  # type: ignore[arg-type]
    assert not result.ok and result.reason == Reason.DNS_ERROR


@pytest.mark.integration
async def test_the_values_are_gauges_promtool_accepts(config_from: Load, agent: int, ctx: ProbeContext) -> None:
    promtool = need("promtool", "prometheus")
    oids = '"UPS-MIB::upsEstimatedChargeRemaining.0" = ">= 50", "IF-MIB::ifOperStatus.1" = "== up"'
    target = snmp_target(config_from, agent, oids)
    result = await PROBES["snmp"].probe(target, ctx)
    monitor = Monitor(Config(Path("targets.toml"), Settings(), {target.id: target}, {}), MemoryStore(), ctx=ctx)
    monitor.record(target, result)
    text = monitor.metrics.render().decode()
    assert 'probe_snmp_value{oid="UPS-MIB::upsEstimatedChargeRemaining.0",target="sw"} 87.0' in text
    assert 'probe_snmp_value{oid="IF-MIB::ifOperStatus.1",target="sw"} 1.0' in text
    done = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


# --- configuration -------------------------------------------------------------------


def test_passwords_and_communities_are_secrets_hidden_from_repr(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    v2c = '[targets.v2c]\nurl = "snmp://10.10.0.3"\ncommunity = "s3cret-community"\n' + ONE
    path.write_text(
        '[targets.sw]\nurl = "snmp://10.10.0.2"\nusername = "monitor"\nauth_protocol = "sha-512"\n'
        'auth_password = "${SNMP_AUTH}"\npriv_protocol = "AES-256"\npriv_password = "very-private"\n'
        'oids = { "IF-MIB::ifOperStatus.3" = "== 1" }\n' + v2c,
        encoding="utf-8",
    )
    targets = load_config(path, env={"SNMP_AUTH": "from-the-environment"}).targets
    spec = targets["sw"].spec
    assert spec.credentials.auth_password == "from-the-environment"
    assert spec.credentials.auth_protocol == "SHA-512" and spec.credentials.level == "authPriv"
    assert targets["v2c"].spec.credentials.community == "s3cret-community"
    for secret in ("from-the-environment", "very-private", "s3cret-community"):
        assert secret not in repr(spec) + repr(targets["v2c"].spec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'oids = { "SNMPv2-MIB::sysUpTime" = "> 0" }',
            "targets.sw.oids.SNMPv2-MIB::sysUpTime: is a scalar, whose one instance is .0: "
            'write "SNMPv2-MIB::sysUpTime.0"',
        ),
        (
            'oids = { "IF-MIB::ifOperStatus" = "== up" }',
            "targets.sw.oids.IF-MIB::ifOperStatus: is a table column: add the row's index, "
            'e.g. "IF-MIB::ifOperStatus.1"',
        ),
        (
            'oids = { "IF-MIB::ifOperStatu.3" = "== up" }',
            "targets.sw.oids.IF-MIB::ifOperStatu.3: names no readable object of IF-MIB "
            "(did you mean IF-MIB::ifOperStatus?)",
        ),
        (
            'oids = { "IF-MIB::ifOperStatus.3" = "up" }',
            'targets.sw.oids.IF-MIB::ifOperStatus.3: \'up\' is not a comparison: write e.g. "== 1", "> 0", '
            '"~ ^Linux" (==, !=, <, <=, >, >=, ~)',
        ),
        (
            'oids = { "IF-MIB::ifOperStatus.3" = "> up" }',
            "targets.sw.oids.IF-MIB::ifOperStatus.3: > needs a number, not 'up'",
        ),
        (
            'oids = { "IF-MIB::ifOperStatus.3" = "== upp" }',
            "targets.sw.oids.IF-MIB::ifOperStatus.3: 'upp' is none of IF-MIB::ifOperStatus's values: "
            "up, down, testing, unknown, dormant, notPresent, lowerLayerDown",
        ),
        (
            'oids = { "SNMPv2-MIB::sysDescr.0" = "~ (unclosed" }',
            "targets.sw.oids.SNMPv2-MIB::sysDescr.0: '(unclosed' is not a valid regular expression: "
            "missing ), unterminated subpattern at position 0",
        ),
        ('community = "public"', 'targets.sw.oids: is required: e.g. oids = { "SNMPv2-MIB::sysUpTime.0" = "> 0" }'),
        (
            'username = "monitor"\nauth_password = "long-enough"\n' + ONE,
            "targets.sw.auth_protocol: is required with auth_protocol and auth_password set together",
        ),
        (
            'username = "monitor"\nauth_protocol = "SHA"\nauth_password = "short"\n' + ONE,
            "targets.sw.auth_password: must be at least 8 characters (RFC 3414)",
        ),
        (
            'username = "monitor"\nauth_protocol = "SHA-1"\nauth_password = "long-enough"\n' + ONE,
            "targets.sw.auth_protocol: must be one of MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512, not 'SHA-1'",
        ),
        (
            'username = "monitor"\npriv_protocol = "AES"\npriv_password = "long-enough"\n' + ONE,
            "targets.sw.priv_protocol: needs auth_protocol and auth_password too "
            "(there is no privacy without authentication)",
        ),
        (
            'version = "2c"\nusername = "monitor"\n' + ONE,
            "targets.sw.username: is an SNMPv3 key: it has no effect with version '2c'",
        ),
        (
            'version = "3"\ncommunity = "public"\nusername = "m"\n' + ONE,
            "targets.sw.community: is for SNMP v1/v2c: SNMPv3 asks with a username",
        ),
        (
            'version = "2"\n' + ONE,
            'targets.sw.version: must be one of "1", "2c", "3", not \'2\'',
        ),
    ],
)
def test_a_bad_key_is_a_clear_error(config_from: Load, text: str, expected: str) -> None:
    assert expected in problems(config_from, text)


def test_an_snmp_url_has_only_a_host_and_port(config_from: Load) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from('[targets.sw]\nurl = "snmp://10.10.0.2/1.3.6.1"\n' + ONE)
    assert "only a host and a port" in str(caught.value)
