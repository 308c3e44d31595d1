"""Connection plumbing shared by the probes that open sockets (http, tcp, tls, rtsp,
dns, icmp).

Name resolution is done here, apart from connecting, so that its time is a phase of its
own; OS and TLS errors, however deeply a client library wrapped them, become one machine
reason and a human detail (`classify`: the one place that says which error is
`connection_refused`, `dns_error`, `tls_error`...); and a peer whose certificate failed verification
is asked once more, without verification, for its certificate's expiry
(`untrusted_expiry`), because an expired or private certificate is exactly when its
expiry matters most.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import SplitResult

from monitor.probes import tlsutil
from monitor.result import Reason


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a probe failed: a `Reason` constant and a human detail."""

    reason: str
    detail: str


class ProbeFailed(Exception):
    """Raised inside a probe to end it with `failure`; never escapes `probe()`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


def is_ip(host: str) -> bool:
    if not (host[:1].isdigit() or ":" in host):
        return False  # a name: skip the costly parse on every probe
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def url_port(url: SplitResult, default: int = 0) -> int | None:
    """The port a URL names, `default` when it names none, None when what it names is
    no port ("host:abc", "host:99999"; `SplitResult.port` raises on those)."""
    try:
        return url.port or default
    except ValueError:
        return None


async def resolve(
    host: str, port: int | None, family: int = socket.AF_UNSPEC, kind: int = socket.SOCK_STREAM
) -> list[str]:
    """The addresses of `host` in the system's order of preference (an IP literal is its
    own address unless `family` asks for another IP version). Raises
    `ProbeFailed(dns_error)` when the name does not resolve."""
    if is_ip(host) and family in (socket.AF_UNSPEC, socket.AF_INET6 if ":" in host else socket.AF_INET):
        return [host]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=family, type=kind)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProbeFailed(Failure(Reason.DNS_ERROR, f"cannot resolve {host}: {_strerror(exc)}")) from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# OpenSSL's X509_V_ERR_* codes users meet, in words an operator recognises.
_VERIFY_CODES = {
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "unknown CA (self-signed certificate in the chain)",
    20: "unknown CA (unable to get the issuer certificate)",
    21: "unknown CA (unable to verify the first certificate)",
    62: "hostname mismatch",
    64: "IP address mismatch",
}
X509_CERT_HAS_EXPIRED = 10


def verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification error behind `exc`, if that is what it is."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
    return None


def classify(exc: BaseException, where: str = "") -> Failure:
    """A machine reason and a human detail for a network error, looking through the
    chain of exceptions that client libraries wrap the original in. `where` (e.g.
    "cam.example port 554") starts the detail, for probes whose errors do not name
    the peer themselves."""
    failure = _classify(exc)
    return Failure(failure.reason, f"{where}: {failure.detail}") if where else failure


# The monitor's own resources, not the target's fault: too many open files (process or
# system), no buffer space, no memory.
_OWN_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _classify(exc: BaseException) -> Failure:
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, MemoryError):
            return Failure(Reason.MONITOR_ERROR, "the monitor ran out of memory")
        if isinstance(cause, OSError) and cause.errno in _OWN_RESOURCES:
            return Failure(Reason.MONITOR_ERROR, f"the monitor ran out of resources: {_strerror(cause)}")
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _verify_failure(cause)
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            return Failure(Reason.TLS_ERROR, f"TLS handshake failed: {getattr(cause, 'reason', None) or cause}")
        if isinstance(cause, socket.gaierror) or _is_idna_error(cause):
            return Failure(Reason.DNS_ERROR, f"cannot resolve the host: {_strerror(cause)}")
        if isinstance(cause, ConnectionRefusedError):
            return Failure(Reason.CONNECTION_REFUSED, "connection refused")
        if isinstance(cause, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return Failure(Reason.CONNECTION_RESET, "connection reset by the peer")
        if isinstance(cause, TimeoutError):
            return Failure(Reason.TIMEOUT, "timed out")
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return Failure(Reason.NETWORK_UNREACHABLE, _strerror(cause))
    for cause in causes:
        if isinstance(cause, OSError) and cause.errno is not None:
            return Failure(Reason.ERROR, _strerror(cause))
    return Failure(Reason.ERROR, str(exc) or type(exc).__name__)


def _is_idna_error(exc: BaseException) -> TypeGuard[UnicodeError]:
    """A host name the idna codec cannot encode (a label over 63 characters): the socket
    functions raise this UnicodeError before asking any resolver."""
    return type(exc) is UnicodeError


def _verify_failure(exc: ssl.SSLCertVerificationError) -> Failure:
    words = _VERIFY_CODES.get(exc.verify_code, "certificate verification failed")
    message = exc.verify_message or ""
    if message.lower().startswith(words):  # OpenSSL's own words: keep only what they add
        message = message[len(words) :].lstrip(" ,:")
    detail = f"{words}: {message}" if message else words
    reason = Reason.CERT_EXPIRED if exc.verify_code == X509_CERT_HAS_EXPIRED else Reason.TLS_ERROR
    return Failure(reason, detail)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, its causes and contexts, and the members of exception groups, once each."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)


def _strerror(exc: OSError | UnicodeError) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


async def untrusted_expiry(
    address: str, port: int, server_hostname: str | None, timeout: float | None = None
) -> float | None:
    """The certificate expiry of a peer whose certificate failed verification, read in a
    second handshake that verifies nothing. None when even that fails or takes longer
    than `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                address, port, ssl=tlsutil.insecure_context(), server_hostname=server_hostname or ""
            )
    except (OSError, ssl.SSLError, TimeoutError):
        return None
    try:
        return tlsutil.stream_expiry(writer)
    finally:
        # No close_notify exchange: the peer's goodbye is of no interest and could stall.
        writer.transport.abort()


CLOSE_GRACE = 0.5  # seconds a polite close may take at most


async def hang_up(writer: asyncio.StreamWriter, left: float) -> None:
    """Close `writer` politely (unsent bytes, a TLS close_notify) for at most
    `CLOSE_GRACE` seconds and never more than the `left` of the probe's deadline, then
    cut the connection: a peer that never answers must not hold a probe past it."""
    writer.close()
    try:
        async with asyncio.timeout(max(min(CLOSE_GRACE, left), 0.0)):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        writer.transport.abort()
