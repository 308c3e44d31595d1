"""The tls kind: `tls://host:port` checks a TLS server's handshake and certificate.

The chain is verified against the system's trust store or `ca_file`, and the host name
against `server_name` (default: the URL's host, also sent as SNI). The earliest expiry is
reported in `Result.cert_expiry` even when verification fails: a second handshake that
trusts anything reads it (`tlsutil.insecure_context`). Whether a near expiry makes the
target DEGRADED, and an expired certificate DOWN, is `monitor.assess`'s decision.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult

from monitor.config.reader import Table
from monitor.probes import tlsutil
from monitor.probes.base import ProbeContext, ProbeKind, Stopwatch, certificate_expiry
from monitor.probes.network import Failure, classify, hang_up, untrusted_expiry, url_port, verification_error
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

TLS_VERSION = "probe_tls_version"
VERSIONS = {"TLSv1": 1.0, "TLSv1.1": 1.1, "TLSv1.2": 1.2, "TLSv1.3": 1.3}


@dataclass(frozen=True)
class TlsSpec:
    """Where to connect, what name to verify, and what to trust."""

    host: str
    port: int
    server_name: str | None = None
    verify: bool = True
    ca_file: str | None = None
    min_version: float | None = None


def parse(table: Table, url: SplitResult | None) -> TlsSpec:
    assert url is not None  # the scheme selected this kind
    port = url_port(url) or 0
    if not url.hostname or not port or url.path.strip("/"):
        table.problem("url", "must be tls://HOST:PORT")
    min_version = table.text("min_version")
    if min_version is not None and f"TLSv{min_version}".replace("v1.0", "v1") not in VERSIONS:
        table.problem("min_version", 'must be "1.0", "1.1", "1.2" or "1.3"')
        min_version = None
    return TlsSpec(
        host=url.hostname or "",
        port=port,
        server_name=table.text("server_name"),
        verify=table.boolean("verify_tls", True),
        ca_file=table.file_path("ca_file"),
        min_version=float(min_version) if min_version else None,
    )


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: TlsSpec = target.spec
    clock = Stopwatch()
    name = spec.server_name or spec.host
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(target.timeout):
            _, writer = await asyncio.open_connection(spec.host, spec.port)
            t_connect = time.perf_counter()
            await writer.start_tls(ctx.tls.client(spec.verify, spec.ca_file), server_hostname=name)
            end = time.perf_counter()
            sslobj = writer.get_extra_info("ssl_object")
            version = VERSIONS.get(sslobj.version() or "", 0.0) if sslobj else 0.0
            expiry = tlsutil.stream_expiry(writer)
    except TimeoutError:
        return clock.failed(Failure(Reason.TIMEOUT, f"no TLS handshake within {target.timeout:g}s"))
    except (OSError, UnicodeError) as exc:  # ssl.SSLError is an OSError; UnicodeError: see classify
        expiry = None
        if verification_error(exc) is not None:
            left = clock.left(target.timeout)
            expiry = await untrusted_expiry(spec.host, spec.port, name, left) if left > 0 else None
        return clock.failed(classify(exc, f"{spec.host} port {spec.port}"), cert_expiry=expiry)
    finally:
        if writer is not None:
            await hang_up(writer, clock.left(target.timeout))
    if spec.min_version is not None and version < spec.min_version:
        return clock.failed(
            Failure(Reason.TLS_ERROR, f"negotiated TLS {version:.1f}, below min_version {spec.min_version:.1f}"),
            cert_expiry=expiry,
        )
    return Result(
        ok=True,
        started=clock.started,
        duration=end - clock.begun,
        cert_expiry=expiry,
        phases={"connect": t_connect - clock.begun, "tls": end - t_connect},
        extra={TLS_VERSION: version},
    )


KIND = ProbeKind(
    name="tls",
    schemes=("tls",),
    parse=parse,
    probe=probe,
    expiry=certificate_expiry(lambda target: True),
    metrics=MappingProxyType(
        {
            TLS_VERSION: "TLS version the last handshake negotiated (1.2, 1.3; 0: none)",
        }
    ),
)
