"""The bench's report: each figure with what it was measured by and its target (BENCHMARKS.md),
printed as a table and written to `bench/out/` (results.json, results.md)."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    """One line of the report. `ok` is None for a figure without a target of its own."""

    name: str
    measured: str
    target: str
    ok: bool | None
    how: str  # the command and its inputs
    value: float | None = None  # the number behind `measured`, for results.json


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def print(self, console: Console | None = None) -> None:
        console = console or Console(width=max(160, Console().width))
        table = Table(title="monitor: make bench", show_lines=True)
        for column in ("figure", "measured", "target", "", "command and inputs"):
            table.add_column(column, overflow="fold")
        for f in self.figures:
            verdict = "" if f.ok is None else ("[green]met[/]" if f.ok else "[bold red]missed[/]")
            table.add_row(f.name, f.measured, f.target, verdict, f.how)
        console.print(machine_line())
        console.print(table)
        for note in self.notes:
            console.print(f"- {note}", markup=False)

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = {"machine": machine(), "figures": [asdict(f) for f in self.figures], "notes": self.notes}
        (folder / "results.json").write_text(json.dumps(data, indent=2) + "\n")
        lines = [
            f"Machine: {machine_line()}",
            "",
            "| figure | measured | target | | command and inputs |",
            "|---|---|---|---|---|",
        ]
        for f in self.figures:
            verdict = "" if f.ok is None else ("met" if f.ok else "**missed**")
            lines.append(f"| {f.name} | {f.measured} | {f.target} | {verdict} | {f.how} |")
        lines += ["", *[f"- {n}" for n in self.notes], ""]
        (folder / "results.md").write_text("\n".join(lines))


def machine() -> dict[str, object]:
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import uvloop

        loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = "asyncio"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loop": loop,
        "kernel": platform.release(),
        "executable": sys.executable,
    }


def machine_line() -> str:
    m = machine()
    return f"{m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['loop']}, Linux {m['kernel']}"
