"""Figures, medians and the final table (also written to bench/out/results.json)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: reported only, no target
    runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def verdict(self) -> str:
        return "-" if self.ok is None else ("pass" if self.ok else "FAIL")

    def shown(self) -> str:
        if self.value is None:
            return "skipped"
        v = self.value
        if abs(v) >= 100:
            text = f"{v:,.0f}"
        elif abs(v) >= 10:
            text = f"{v:.1f}"
        else:
            text = f"{v:.2f}"
        return f"{text} {self.unit}".strip()


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.started = time.perf_counter()

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        runs = ", ".join(f"{r:.4g}" for r in figure.runs)
        print(f"  {figure.name}: {figure.shown()}"
              + (f"  [runs: {runs}]" if len(figure.runs) > 1 else "")
              + (f"  target {figure.target}: {figure.verdict}" if figure.target else "")
              + (f"  ({figure.note})" if figure.note else ""), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def table(self) -> str:
        rows = [(f.name, f.shown(), f.target or "-", f.verdict) for f in self.figures]
        head = ("figure", "value (median)", "target", "pass/fail")
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), line]
        out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(out)

    def machine(self) -> dict[str, Any]:
        cpu = ""
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        return {"nproc": os.cpu_count(), "cpu": cpu, "python": sys.version.split()[0],
                "platform": platform.platform()}

    def write(self, path: Path, mode: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"mode": mode, "machine": self.machine(),
                "seconds": round(time.perf_counter() - self.started, 1),
                "figures": [asdict(f) for f in self.figures], "notes": self.notes}
        path.write_text(json.dumps(data, indent=2))
