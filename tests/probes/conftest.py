"""Fixtures for the probe tests: a private CA with its certificates (valid, expired,
expiring soon, for the wrong host, from an unknown CA), a probe context, and running
local servers."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import trustme

from monitor.probes.base import ProbeContext
from monitor.probes.tlsutil import TlsContextCache
from tests.probes.servers import HttpServer, server_context

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def certs(ca: trustme.CA) -> dict[str, trustme.LeafCert]:
    """Server certificates by what is (or is not) wrong with them."""
    return {
        "valid": ca.issue_cert("localhost", "127.0.0.1", not_after=NOW + dt.timedelta(days=90)),
        "expired": ca.issue_cert(
            "localhost", "127.0.0.1", not_before=NOW - dt.timedelta(days=60), not_after=NOW - dt.timedelta(days=3)
        ),
        "expiring": ca.issue_cert("localhost", "127.0.0.1", not_after=NOW + dt.timedelta(days=5)),
        "wrong_host": ca.issue_cert("other.example", not_after=NOW + dt.timedelta(days=90)),
        "unknown_ca": trustme.CA().issue_cert("localhost", "127.0.0.1", not_after=NOW + dt.timedelta(days=90)),
    }


@pytest.fixture
def ctx() -> ProbeContext:
    return ProbeContext(tls=TlsContextCache())


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    async with HttpServer() as server:
        yield server


def https_server(cert: trustme.LeafCert) -> HttpServer:
    return HttpServer(tls=server_context(cert))
