"""The `monitor` command line: run, check, validate, report, notify-test, migrate, preflight,
passwd.

Exit codes (docs/cli.md): `check` 0 all up, 1 any down/degraded, 2 bad configuration;
`validate` 0 valid, 2 invalid; `migrate` 0 migrated or up to date, 2 on an error;
`run` and `report` 2 for a store they cannot use (damaged, unreachable, newer than this
monitor) too; `preflight` 0 no problem, 1 a problem, 2 bad configuration or watch. A
configuration problem is printed with its file, key path and line, a store's problem as
one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

from monitor import __version__
from monitor.config import Config, Target
from monitor.config.accounts import hash_password
from monitor.config.envfile import env_file_for, load_into
from monitor.config.loader import ID_PATTERN, load_config
from monitor.errors import ConfigError, StoreError
from monitor.probes import PROBES, Heartbeats, heartbeat_book, probe_context
from monitor.result import Result
from monitor.runtime import run_probe
from monitor.store.registry import check_store, has_history, migrate, open_store, where

EXIT_OK, EXIT_DOWN, EXIT_CONFIG = 0, 1, 2
EXIT_STORE = 2  # the store cannot be used: damaged, unreachable, newer than this monitor
CHECKED = ("run", "report")  # the commands that check their store before they start
SEND_NOTHING = ("check", "report", "migrate")  # need no notifier's secrets (`load_config`)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitor", description="Service uptime monitor.")
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument(
            "-c",
            "--config",
            type=Path,
            default=Path("targets.toml"),
            help="configuration file (default: ./targets.toml)",
        )
        p.add_argument("--data", type=Path, help="data directory (overrides [monitor] data_dir)")
        return p

    run = command("run", "Probe on schedule, serve the web app and send alerts until stopped.")
    run.add_argument("--listen", help="HOST:PORT to serve on (overrides [monitor] listen)")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    check = command("check", "Probe each target once now and print a table.")
    check.add_argument("ids", nargs="*", metavar="ID", help="only these targets")
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    command("validate", "Load and validate the configuration; print every problem.")
    report = command("report", "Availability report for a window, from the stored history.")
    window = report.add_mutually_exclusive_group(required=True)
    window.add_argument("--watch", metavar="NAME", help="the [[watch]] period named NAME")
    window.add_argument("--from", dest="from_", metavar="T", help="start (ISO 8601 date or date-time)")
    report.add_argument("--to", metavar="T", help="end (ISO 8601; with --from)")
    report.add_argument("--format", choices=["html", "csv", "md"], default="html")
    report.add_argument("-o", "--output", type=Path, help="write to FILE instead of stdout")
    notify = command("notify-test", "Send a test message through each notifier.")
    notify.add_argument("notifiers", nargs="*", metavar="NOTIFIER", help="only these notifiers")
    command("migrate", "Create the store's schema or bring it to this version (as `monitor run` does at start).")
    preflight = command("preflight", "Before a watch period: check that everything holds until it ends.")
    preflight.add_argument("--watch", metavar="NAME", help="the [[watch]] named NAME (default: the current or next)")
    preflight.add_argument("--format", choices=["text", "html", "md", "json"], default="text")
    preflight.add_argument("-o", "--output", type=Path, help="write to FILE instead of stdout")
    preflight.add_argument("--send-test", action="store_true", help="also send a test message through every notifier")
    passwd = sub.add_parser("passwd", help=PASSWD_HELP, description=PASSWD_HELP)
    passwd.add_argument("name", metavar="NAME", help="the account's name, as in [admins.NAME]")
    return parser


PASSWD_HELP = (
    "Print the [admins.NAME] password_hash line for a password read from the terminal "
    "(without echo), or from standard input when it is not a terminal."
)


def _passwd(name: str) -> int:
    """Read the password (twice on a terminal), print the TOML lines to paste."""
    if not ID_PATTERN.match(name):
        print(f"monitor passwd: {name!r} is no valid name (letters, digits, '-' or '_')", file=sys.stderr)
        return EXIT_CONFIG
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            print("monitor passwd: the two passwords differ", file=sys.stderr)
            return EXIT_CONFIG
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("monitor passwd: an empty password is refused", file=sys.stderr)
        return EXIT_CONFIG
    print(f"[admins.{name}]\npassword_hash = {json.dumps(hash_password(password))}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "passwd":
        return _passwd(args.name)
    load_into(os.environ, env_file_for(args.config))
    try:
        config = _load(args)
    except ConfigError as exc:
        _print_problems(exc)
        return EXIT_CONFIG
    if args.command in CHECKED and not _store_sound(config):
        return EXIT_STORE
    handler = {
        "run": _run,
        "check": _check,
        "validate": _validate,
        "report": _report,
        "notify-test": _notify_test,
        "migrate": _migrate,
        "preflight": _preflight,
    }[args.command]
    return handler(config, args)


def _store_sound(config: Config) -> bool:
    """Check the store before starting (damage; for a server, that it answers with a
    schema this monitor knows); print what is wrong on one line."""
    try:
        check_store(config.settings)
    except StoreError as exc:
        if exc.reason == "database corrupt":
            print(
                f"monitor: the history database {exc}; not starting: recover it first "
                "(docs/status-page.md, 'A damaged database')",
                file=sys.stderr,
            )
        else:
            print(f"monitor: {exc}; not starting", file=sys.stderr)
        return False
    return True


def _load(args: argparse.Namespace) -> Config:
    # `run` keeps its configuration for its life (until a reload): see `load_config`.
    loaded = load_config(args.config, notifier_secrets=args.command not in SEND_NOTHING, keep=args.command == "run")
    return _overrides(args)(loaded)


def _overrides(args: argparse.Namespace) -> Callable[[Config], Config]:
    """`--listen` and `--data` applied to a loaded configuration (again at each reload)."""
    changes = {"listen": getattr(args, "listen", None), "data_dir": args.data}
    changes = {key: value for key, value in changes.items() if value}

    def apply(config: Config) -> Config:
        if not changes:
            return config
        return dataclasses.replace(config, settings=dataclasses.replace(config.settings, **changes))

    return apply


def _print_problems(exc: ConfigError) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"[bold red]invalid configuration[/]: {len(exc.problems)} problem(s)")
    for problem in exc.problems:
        err.print(f"  {problem}", markup=False)


def _validate(config: Config, args: argparse.Namespace) -> int:
    print(
        f"{config.path}: valid ({len(config.targets)} targets, {len(config.notifiers)} notifiers, "
        f"{len(config.maintenance)} maintenance windows, {len(config.watches)} watch periods)"
    )
    for warning in config.warnings:
        print(f"  warning: {warning}")
    return EXIT_OK


def _run(config: Config, args: argparse.Namespace) -> int:
    from monitor.serve import serve

    return serve(config, log_level=args.log_level, prepare=_overrides(args))


def _check(config: Config, args: argparse.Namespace) -> int:
    unknown = [i for i in args.ids if i not in config.targets]
    if unknown:
        print(f"unknown target id(s): {', '.join(unknown)} (known: {', '.join(config.targets)})", file=sys.stderr)
        return EXIT_CONFIG
    targets = [config.targets[i] for i in args.ids] if args.ids else list(config.targets.values())
    results = asyncio.run(_probe_all(config, targets))
    if args.json:
        print(json.dumps([_as_json(t, r) for t, r in zip(targets, results, strict=True)], indent=2))
    else:
        _print_table(targets, results)
    return EXIT_OK if all(r.ok and not r.degraded for r in results) else EXIT_DOWN


async def _probe_all(config: Config, targets: list[Target], concurrency: int = 100) -> list[Result]:
    ctx = probe_context(await _stored_heartbeats(config))
    gate = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> Result:
        async with gate:
            return await run_probe(target, ctx)

    try:
        return list(await asyncio.gather(*(one(t) for t in targets)))
    finally:
        await ctx.aclose()


async def _stored_heartbeats(config: Config) -> Heartbeats:
    """Targets of a passive kind are judged from the heartbeats `monitor run` stored;
    `check` only reads them (a reader never counts as the monitor running)."""
    book = heartbeat_book()
    if not any(_passive(t) for t in config.targets.values()):
        return book
    try:
        if has_history(config.settings):
            store = open_store(config.settings, observe=False)
            await store.open()
            try:
                book.restore(await store.last_results())
            finally:
                await store.close()
    except StoreError as exc:  # judged as if nothing was ever pushed
        print(f"monitor check: no stored heartbeats: {exc}", file=sys.stderr)
    return book


def _passive(target: Target) -> bool:
    kind = PROBES.get(target.kind)
    return kind is not None and kind.passive


def _state_word(result: Result) -> str:
    return "DOWN" if not result.ok else "DEGRADED" if result.degraded else "UP"


def _as_json(target: Target, result: Result) -> dict[str, object]:
    return {
        "id": target.id,
        "name": target.name,
        "kind": target.kind,
        "state": _state_word(result),
        "latency_ms": round(result.duration * 1000, 1),
        "reason": result.reason,
        "detail": result.detail,
        "status_code": result.status_code,
    }


def _print_table(targets: list[Target], results: list[Result]) -> None:
    styles = {"UP": "green", "DEGRADED": "yellow", "DOWN": "bold red"}
    table = RichTable(title=None, show_lines=False)
    for column in ("target", "kind", "state", "latency", "reason", "detail"):
        table.add_column(column, justify="right" if column == "latency" else "left")
    for target, result in zip(targets, results, strict=True):
        word = _state_word(result)
        table.add_row(
            target.id,
            target.kind,
            f"[{styles[word]}]{word}[/]",
            f"{result.duration * 1000:.0f} ms",
            result.reason,
            result.detail,
        )
    Console(highlight=False, width=max(120, Console().width)).print(table)


def _report(config: Config, args: argparse.Namespace) -> int:
    from monitor.report.build import run_report

    return asyncio.run(run_report(config, args))


def _notify_test(config: Config, args: argparse.Namespace) -> int:
    from monitor.alerting.notifytest import run_notify_test

    return asyncio.run(run_notify_test(config, args.notifiers))


def _migrate(config: Config, args: argparse.Namespace) -> int:
    try:
        found, now = migrate(config.settings)
    except StoreError as exc:
        print(f"monitor migrate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if found == now:
        print(f"{where(config.settings)}: schema version {now}, up to date")
    else:
        print(f"{where(config.settings)}: migrated from schema version {found} to {now}")
    return EXIT_OK


def _preflight(config: Config, args: argparse.Namespace) -> int:
    from monitor.preflight.run import run_preflight

    return asyncio.run(run_preflight(config, args))
