"""The configuration loader: `targets.toml` into the frozen values of `monitor.config.model`.

`load_config(path)` reads the file with `tomli`, substitutes `${ENV}` in every string,
validates everything at once and returns a `Config`, or raises `ConfigError` listing
every problem with its file, key path and line. Probe and notifier kinds validate their
own keys (see `monitor.probes.base.ProbeKind.parse`).

Commands that send nothing (`check`, `report`) load with `notifier_secrets=False`: a
`${VAR}` under `[notifiers.*]` that is not set is then no problem — the notifier is known
by name (targets still reference it), and the problems of a notifier missing one of its
variables are not reported, since it is never built. `run`, `validate` and `notify-test`
need every notifier whole.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli

from monitor.config.accounts import read_admin
from monitor.config.duty import DUTY_PREFIX, check_rosters, gaps, read_rosters, read_shifts
from monitor.config.model import (
    DEFAULT_EVENTS,
    EVENT_KINDS,
    Config,
    Maintenance,
    NotifierConfig,
    Roster,
    Settings,
    Subscriptions,
    Target,
    Watch,
)
from monitor.config.reader import LineIndex, Problems, Table, format_duration
from monitor.connectivity import CHECK_INTERVAL, CHECK_TIMEOUT, own_host
from monitor.errors import ConfigError, Problem
from monitor.notifiers import NOTIFIERS
from monitor.notifiers.email import parse_server
from monitor.probes import PROBES, SCHEMES, ProbeKind
from monitor.store.registry import BACKENDS, scheme_of

MAX_BYTES = 64 * 2**20  # a configuration of 20,000 targets is about 3 MiB
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# Keys a target may inherit from [defaults].
_DEFAULTABLE = (
    "interval",
    "timeout",
    "failure_threshold",
    "success_threshold",
    "notify",
    "degraded_after",
    "down_after",
    "cert_warn_days",
    "public",
    "group",
    "quorum",
)
LOCATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def load_config(
    path: str | Path, env: Mapping[str, str] | None = None, *, notifier_secrets: bool = True, keep: bool = False
) -> Config:
    """Read, substitute and validate `path`; raise `ConfigError` with every problem.
    Whatever the file holds (binary, not UTF-8, nested too deeply, a folder), the answer
    is a `ConfigError`: a reload must never die of a file saved half-way. Without
    `notifier_secrets` the notifiers' unset variables are let be (see the module doc).
    `keep`: the configuration stays for the process's life (`monitor run`'s start): its
    objects are frozen out of the cyclic collector's walks (`gc.freeze`) as they are."""
    path = Path(path)
    env = os.environ if env is None else env
    text, digest = _read_text(path)
    # No cyclic collection while loading: the load makes millions of objects at 100,000
    # targets (and no cycles among them), which each collection on the way walks again;
    # the first one after it would walk them all (seconds at 100,000), unless they are kept.
    collecting = gc.isenabled()
    if keep:
        gc.collect()  # nothing cyclic is left to be frozen for good
    gc.disable()
    try:
        config = _load(path, text, digest, env, notifier_secrets)
        if keep:
            gc.freeze()
        return config
    finally:
        if collecting:
            gc.enable()


def _load(path: Path, text: str, digest: str, env: Mapping[str, str], notifier_secrets: bool) -> Config:
    raw = _parse(path, text)
    index = LineIndex(text)
    problems = Problems(str(path), index, path.parent)
    lacking: set[str] = set()  # notifiers missing a variable (notifier_secrets=False)
    data = _substitute(raw, "", env, problems, None if notifier_secrets else lacking)
    config = _read(path, Table(data, "", problems))
    problems.items = [p for p in problems.items if _notifier_of(p.path) not in lacking]
    if problems.items:
        raise ConfigError(problems.items)
    warnings = Problems(str(path), index, path.parent)
    for roster, message in gaps(config.rosters, config.duty, config.settings.zone):
        warnings.add(f"rosters.{roster}", message)
    return dataclasses.replace(config, digest=digest, warnings=tuple(str(w) for w in warnings.items))


def _notifier_of(key: str) -> str | None:
    """`oncall` for `notifiers.oncall.url`, `[subscriptions]` for the subscriptions'
    keys (which send mail too); None elsewhere."""
    parts = key.split(".", 2)
    if parts[0] == "subscriptions":
        return "[subscriptions]"
    return parts[1] if len(parts) > 1 and parts[0] == "notifiers" else None


def _read_text(path: Path) -> tuple[str, str]:
    """The file's text (newlines as `open()` reads them) and the hash of its bytes."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([Problem(str(path), "", f"cannot read the file: {exc.strerror}")]) from exc
    if len(data) > MAX_BYTES:
        raise ConfigError([Problem(str(path), "", f"the file is larger than {MAX_BYTES // 2**20} MiB")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise ConfigError([Problem(str(path), "", f"cannot read the file: it is not UTF-8 text ({where})")]) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n"), hashlib.sha256(data).hexdigest()


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        # tomli, not the standard library's tomllib: the same parser, compiled (mypyc);
        # a 100,000-target file parses in 2.0-2.1 CPU-s instead of 4.5-4.9.
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        # Python < 3.14 puts the position only in the message: "... (at line 2, column 25)".
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(where.group(1)) if where else None
        column = f" (column {where.group(2)})" if where else ""
        raise ConfigError([Problem(str(path), "", f"TOML syntax error: {msg}{column}", line)]) from exc
    except RecursionError as exc:  # tomli recurses once per nested array or table (at most 400)
        raise ConfigError([Problem(str(path), "", "TOML syntax error: nested too deeply")]) from exc


def _substitute(
    value: Any, key: str, env: Mapping[str, str], problems: Problems, lacking: set[str] | None = None
) -> Any:
    """`value` with `${VAR}` substituted; an unset one is a problem, except under a
    notifier when `lacking` collects those notifiers instead."""
    if isinstance(value, str):
        pieces: list[tuple[str, str]] = []

        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, fallback = match.group(1), match.group(2)
            if name in env:
                pieces.append((name, env[name]))
                return env[name]
            if fallback is not None:
                return fallback
            notifier = _notifier_of(key)
            if lacking is not None and notifier is not None:
                lacking.add(notifier)
            else:
                problems.add(key, f"environment variable {name} is not set")
            return ""

        substituted = _ENV.sub(one, value)
        if pieces:  # from the environment: maybe a secret, never to be quoted in a problem
            problems.hide(substituted, value, pieces)
        return substituted
    if isinstance(value, dict):
        # A value with nothing to substitute (no `$`, no table or list) is taken as it
        # is, without its key path: most of a 100,000-target file.
        return {
            k: v if _plain(v) else _substitute(v, f"{key}.{k}" if key else k, env, problems, lacking)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [v if _plain(v) else _substitute(v, f"{key}[{i}]", env, problems, lacking) for i, v in enumerate(value)]
    return value


def _plain(value: Any) -> bool:
    """Nothing in `value` to substitute: a string without `$`, a number, a date..."""
    return ("$" not in value) if isinstance(value, str) else not isinstance(value, dict | list)


def _read(path: Path, root: Table) -> Config:
    settings = _read_settings(root.sub("monitor"), path.parent)
    zone = _zone(settings.timezone)
    defaults = root.sub("defaults")
    notifiers = {name: _read_notifier(name, table) for name, table in root.children_of("notifiers")}
    listens = (settings.listen, *([settings.metrics_listen] if settings.metrics_listen else []))
    targets = {tid: _read_target(tid, table, defaults, listens) for tid, table in root.children_of("targets")}
    for name in _DEFAULTABLE:
        defaults.raw(name)  # read through each target; mark as used here
    defaults.finish()
    if not targets:
        root.problem("targets", "no targets are configured (add a [targets.ID] table)")
    watches = tuple(_read_watch(t, zone) for t in root.array("watch"))
    maintenance = tuple(_read_maintenance(t, zone) for t in root.array("maintenance"))
    rosters = read_rosters(root)
    duty = read_shifts(root, zone, rosters, notifiers)
    admins = {name: read_admin(name, table) for name, table in root.children_of("admins")}
    subscriptions = _read_subscriptions(root.sub("subscriptions"), settings) if root.has("subscriptions") else None
    root.finish()
    _check_references(root, targets, notifiers, maintenance, rosters)
    check_rosters(root.problems, rosters, notifiers)
    return Config(
        path=path,
        settings=settings,
        targets=targets,
        notifiers=notifiers,
        watches=tuple(w for w in watches if w is not None),
        maintenance=tuple(m for m in maintenance if m is not None),
        rosters=rosters,
        duty=duty,
        admins=admins,
        subscriptions=subscriptions,
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _read_settings(t: Table, base: Path) -> Settings:
    language = t.text("language", "en")
    if language not in ("id", "en"):
        t.problem("language", f'must be "id" or "en", not {language!r}')
    timezone = t.text("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        t.problem("timezone", f'unknown time zone {timezone!r} (write e.g. "Asia/Jakarta")')
        timezone = "UTC"
    listen = t.text("listen", "127.0.0.1:8080")
    if not _valid_listen(listen):
        t.problem("listen", f"must be HOST:PORT, not {listen!r}")
    metrics_listen = t.text("metrics_listen")
    if metrics_listen is not None and not _valid_listen(metrics_listen):
        t.problem("metrics_listen", f"must be HOST:PORT, not {metrics_listen!r}")
    elif metrics_listen == listen:
        t.problem("metrics_listen", "must differ from listen (it keeps /metrics and /probe off that address)")
    data_dir = Path(t.text("data_dir", "data"))
    public_url = t.text("public_url")
    heartbeat_url = t.text("heartbeat_url")
    for key, url in (("public_url", public_url), ("heartbeat_url", heartbeat_url)):
        scheme = urlsplit(url).scheme if url else ""
        if url and scheme not in ("http", "https"):
            # Not the URL itself: a heartbeat URL's path is its check's secret key, and
            # a reload's problems are logged and shown in the admin view.
            found = f"{scheme}://" if scheme else "one without a scheme"
            t.problem(key, f"must be an http:// or https:// URL, not {found}")
    store = t.text("store", "sqlite")
    if scheme_of(store) not in BACKENDS:
        # The scheme only: a database URL carries its password.
        t.problem("store", f"unknown store {scheme_of(store)!r} (known: {', '.join(sorted(BACKENDS))})")
        store = "sqlite"
    settings = Settings(
        title=t.text("title", "Service status"),
        language=language,
        timezone=timezone,
        listen=listen,
        metrics_listen=metrics_listen,
        data_dir=data_dir if data_dir.is_absolute() else base / data_dir,
        public_url=public_url.rstrip("/") if public_url else None,
        heartbeat_url=heartbeat_url or None,
        raw_retention=t.duration("raw_retention", 48 * 3600.0, low=3600.0),
        store=store,
        connectivity=_read_connectivity(t),
        location=_location(t, "location", t.text("location", "local")),
    )
    t.finish()
    return settings


def _read_connectivity(t: Table) -> tuple[Target, ...]:
    """`connectivity = ["dns://1.1.1.1/example.com", {url = "https://...", timeout = "3s"}]`:
    each entry a URL, or a table with `url`, `name`, `interval`, `timeout` and the kind's
    own keys. An empty string is no check (so `"${VAR:-}"` leaves one to the environment)."""
    t.declare("connectivity", "check_list")  # the form's type: one URL or inline table a line
    value = t.raw("connectivity")
    if value is None:
        return ()
    if not isinstance(value, list):
        t.problem("connectivity", 'must be a list of URLs or tables (e.g. ["dns://1.1.1.1/example.com"])')
        return ()
    checks: dict[str, Target] = {}
    for index, item in enumerate(value):
        path = f"{t.key('connectivity')}[{index}]"
        if item == "":
            continue
        if isinstance(item, str) and "://" not in item:
            t.problems.add(path, f'must be a URL such as "dns://1.1.1.1/example.com", or a table, not {item!r}')
            continue
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            t.problems.add(path, "must be a URL or a table with a url")
            continue
        check = _read_check(Table(item, path, t.problems), index)
        if check is None:
            continue
        if check.id in checks:
            t.problems.add(f"{path}.name", f"another check is named {check.id!r}")
            continue
        checks[check.id] = check
    return tuple(checks.values())


def _read_check(t: Table, index: int) -> Target | None:
    url = t.require_text("url")
    kind, parsed = _kind_of(t, url) if url else (None, None)
    if kind is not None and (kind.passive or kind.cached):
        t.problem("url", f"a {kind.name} probe cannot tell whether the network works now: choose another kind")
        kind = None
    name = t.text("name", f"{kind.name if kind else 'check'}-{index + 1}")
    if not ID_PATTERN.match(name):
        t.problem("name", "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")
    interval = t.duration("interval", CHECK_INTERVAL, low=0.1)
    timeout = t.duration("timeout", min(CHECK_TIMEOUT, interval), low=0.01)
    if timeout > interval:
        t.problem("timeout", f"must not exceed the interval ({interval:g}s)")
    spec = kind.parse(t, parsed) if kind else None
    t.finish()
    if kind is None:
        return None
    return Target(id=name, name=name, kind=kind.name, url=url, spec=spec, interval=interval, timeout=timeout)


def _kind_of(t: Table, url: str) -> tuple[ProbeKind | None, SplitResult | None]:
    """The probe kind `url`'s scheme selects (a problem when none does), and the URL."""
    try:
        parsed = urlsplit(url)
    except ValueError as exc:
        t.problem("url", f"is not a valid URL: {exc}")
        return None, None
    kind = SCHEMES.get(parsed.scheme.lower())
    if kind is None:
        schemes = ", ".join(f"{s}://" for s in sorted(SCHEMES))
        t.problem("url", f"unsupported scheme {parsed.scheme + '://'!r} (supported: {schemes})")
    return kind, parsed


def _valid_listen(listen: str) -> bool:
    host, sep, port = listen.rpartition(":")
    return bool(sep and host) and port.isdigit() and 0 < int(port) < 65536


def _read_target(tid: str, t: Table, defaults: Table, listens: tuple[str, ...]) -> Target:
    if not ID_PATTERN.match(tid):
        t.problems.add(t.path, "target id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")

    def inherited(name: str) -> Table:
        return t if t.has(name) or not defaults.has(name) else defaults

    url = t.text("url")
    kind_name = t.text("kind")
    parsed: SplitResult | None = None
    kind = None
    if url:
        kind, parsed = _kind_of(t, url)
        if kind is not None and kind_name and kind_name != kind.name:
            t.problem("kind", f"{kind_name!r} does not match the URL's scheme ({kind.name})")
    elif kind_name:
        kind = PROBES.get(kind_name)
        if kind is None:
            t.problem("kind", f"unknown kind {kind_name!r} (known: {', '.join(sorted(PROBES))})")
        elif kind.schemes:
            t.problem("url", f"is required for kind {kind_name!r}")
            kind = None
    else:
        passive = " or ".join(f'kind = "{k.name}"' for k in PROBES.values() if k.passive)
        t.problem("url", f"is required (or {passive} for a passive target)")
    interval = inherited("interval").duration("interval", 30.0, low=0.1)
    timeout = inherited("timeout").duration("timeout", min(10.0, interval), low=0.01)
    if timeout > interval:
        t.problem("timeout", f"must not exceed the interval ({interval:g}s)")
    name = t.text("name", tid)
    target = Target(
        id=tid,
        name=tid if name == tid else name,  # one string, not two equal ones, per target
        kind=kind.name if kind else "",
        url=url,
        spec=kind.parse(t, parsed) if kind else None,
        group=sys.intern(inherited("group").text("group", "")),  # a few groups, shared by many targets
        description=t.text("description", ""),
        interval=interval,
        timeout=timeout,
        failure_threshold=inherited("failure_threshold").integer("failure_threshold", 3, low=1, high=100),
        success_threshold=inherited("success_threshold").integer("success_threshold", 2, low=1, high=100),
        notify=inherited("notify").text_list("notify"),
        depends_on=t.text_list("depends_on"),
        public=inherited("public").boolean("public", True),
        degraded_after=inherited("degraded_after").duration("degraded_after"),
        down_after=inherited("down_after").duration("down_after"),
        cert_warn_days=tuple(sorted(set(inherited("cert_warn_days").int_list("cert_warn_days")), reverse=True)),
        external=t.boolean("external", _external(kind, parsed, listens)),
        locations=tuple(_location(t, "locations", name) for name in t.text_list("locations")),
        quorum=_quorum(inherited("quorum")),
        paused=t.boolean("paused", False),
    )
    if target.quorum is not None and target.locations and target.quorum > len(target.locations):
        t.problem("quorum", f"is {target.quorum}, more than the {len(target.locations)} locations that probe it")
    _check_speed(t, target)
    t.finish()
    return target


def _location(t: Table, key: str, name: str) -> str:
    if not LOCATION_PATTERN.match(name):
        t.problem(key, f"location {name!r} must be lowercase letters, digits and '-' (e.g. \"sampit\")")
    return name


def _quorum(t: Table) -> int | None:
    """`quorum = "majority"` (None, the default) or a number of locations."""
    value = t.raw("quorum")
    if value is None or value == "majority":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        t.problem("quorum", f'must be "majority" or a number of locations (1 or more), not {value!r}')
        return None
    return value


def _external(kind: ProbeKind | None, url: SplitResult | None, listens: tuple[str, ...]) -> bool:
    """`external`'s default: reached across the uplink unless the target is the monitor's
    own host, or passive (its job reports in to the monitor, usually from nearby)."""
    if kind is None or kind.passive:
        return False
    try:
        host = url.hostname if url is not None else None
    except ValueError:
        host = None
    return not own_host(host, listens)


def _check_speed(t: Table, target: Target) -> None:
    """`down_after` must be longer than `degraded_after`, and a target's own must be
    shorter than its timeout (an inherited one that is not simply never applies)."""
    down, degraded = target.down_after, target.degraded_after
    if down is None:
        return
    if degraded is not None and down <= degraded:
        t.problem("down_after", f"must be longer than degraded_after ({format_duration(degraded)})")
    if down >= target.timeout and t.has("down_after"):
        t.problem(
            "down_after",
            f"must be shorter than the timeout ({format_duration(target.timeout)}): a slower probe is a timeout",
        )


def _read_notifier(name: str, t: Table) -> NotifierConfig:
    if not ID_PATTERN.match(name):
        t.problems.add(t.path, "notifier name must be letters, digits, '-' or '_'")
    type_name = t.require_text("type")
    kind = NOTIFIERS.get(type_name)
    if type_name and kind is None:
        known = ", ".join(sorted(NOTIFIERS)) or "none"
        t.problem("type", f"unknown notifier type {type_name!r} (known: {known})")
    notifier = NotifierConfig(
        name=name,
        type=type_name,
        spec=kind.parse(t) if kind else None,
        repeat_every=t.duration("repeat_every", low=60.0),
        events=_read_events(t),
        escalate_after=t.duration("escalate_after", low=60.0),
        escalate_to=t.text_list("escalate_to"),
    )
    if notifier.escalate_to and notifier.escalate_after is None:
        t.problem("escalate_to", "needs escalate_after (how long an outage lasts first)")
    if kind is not None:
        t.finish()
    return notifier


def _read_subscriptions(t: Table, settings: Settings) -> Subscriptions:
    """`[subscriptions]`: `enabled` and the e-mail notifier's server keys (read by its
    own parser; `to` has no meaning here: the subscribers are the recipients)."""
    enabled = t.boolean("enabled", False)
    if enabled and not settings.public_url:
        t.problem("enabled", "needs [monitor] public_url: the e-mails' links point there")
    spec = parse_server(t) if enabled else None
    if not enabled:
        for key in ("host", "security", "port", "username", "password", "from", "ca_file", "verify_tls", "timeout"):
            t.raw(key)  # kept for later, not checked while off
    t.finish()
    return Subscriptions(enabled=enabled, spec=spec)


def _read_events(t: Table) -> frozenset[str]:
    events = t.text_list("events", tuple(sorted(DEFAULT_EVENTS)))
    for event in events:
        if event not in EVENT_KINDS:
            t.problem("events", f"unknown event {event!r} (known: {', '.join(EVENT_KINDS)})")
    return frozenset(e for e in events if e in EVENT_KINDS)


def _read_watch(t: Table, zone: ZoneInfo) -> Watch | None:
    name, start, end = t.require_text("name"), t.time("start", zone), t.time("end", zone)
    t.finish()
    if start is None or end is None:
        t.problems.add(t.path, "needs both start and end")
        return None
    if end <= start:
        t.problem("end", "must be after start")
        return None
    return Watch(name, start, end)


def _read_maintenance(t: Table, zone: ZoneInfo) -> Maintenance | None:
    start, end = t.time("start", zone), t.time("end", zone)
    window = Maintenance(
        start=start or datetime.min.replace(tzinfo=zone),
        end=end or datetime.min.replace(tzinfo=zone),
        targets=t.text_list("targets"),
        groups=t.text_list("groups"),
        reason=t.text("reason", ""),
    )
    t.finish()
    if not window.targets and not window.groups:
        t.problems.add(t.path, "names no targets and no groups")
    if start is None or end is None:
        t.problems.add(t.path, "needs both start and end")
        return None
    if end <= start:
        t.problem("end", "must be after start")
    return window


def _check_references(
    root: Table,
    targets: Mapping[str, Target],
    notifiers: Mapping[str, NotifierConfig],
    maintenance: tuple[Maintenance | None, ...],
    rosters: Mapping[str, Roster],
) -> None:
    problems = root.problems
    for target in targets.values():
        for i, name in enumerate(target.notify):
            if name.startswith(DUTY_PREFIX):
                if name.removeprefix(DUTY_PREFIX) not in rosters:
                    roster = name.removeprefix(DUTY_PREFIX)
                    problems.add(f"targets.{target.id}.notify[{i}]", f"no roster named {roster!r} ([rosters.{roster}])")
            elif name not in notifiers:
                problems.add(f"targets.{target.id}.notify[{i}]", f"no notifier named {name!r}")
        for i, dep in enumerate(target.depends_on):
            if dep not in targets:
                problems.add(f"targets.{target.id}.depends_on[{i}]", f"no target named {dep!r}")
    for notifier in notifiers.values():
        for i, name in enumerate(notifier.escalate_to):
            if name not in notifiers or name == notifier.name:
                problems.add(f"notifiers.{notifier.name}.escalate_to[{i}]", f"no other notifier named {name!r}")
    for cycle in _cycles(targets):
        problems.add(f"targets.{cycle[0]}.depends_on", "dependency cycle: " + " -> ".join(cycle))
    groups = {t.group for t in targets.values()}
    for i, window in enumerate(maintenance):
        if window is None:
            continue
        for name in window.targets:
            if name not in targets:
                problems.add(f"maintenance[{i}].targets", f"no target named {name!r}")
        for name in window.groups:
            if name not in groups:
                problems.add(f"maintenance[{i}].groups", f"no group named {name!r}")


def _cycles(targets: Mapping[str, Target]) -> list[list[str]]:
    """Each dependency cycle once, as the path that closes it."""
    done: set[str] = set()
    found: list[list[str]] = []
    for tid in targets:
        _visit(targets, tid, [], done, found)
    return found


def _visit(targets: Mapping[str, Target], tid: str, stack: list[str], done: set[str], found: list[list[str]]) -> None:
    # Not a closure calling itself: that is a reference cycle, kept for good once the
    # load is frozen (`load_config`'s `keep`).
    if tid in stack:
        found.append([*stack[stack.index(tid) :], tid])
        return
    if tid in done or tid not in targets:
        return
    stack.append(tid)
    for dep in targets[tid].depends_on:
        _visit(targets, dep, stack, done, found)
    stack.pop()
    done.add(tid)
