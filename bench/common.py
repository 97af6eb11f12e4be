"""Shared helpers of the benchmarks: repeated runs, medians, the machine, results."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    """One measured figure: every run's value, summarised by median and spread."""

    name: str
    unit: str
    runs: list[float]
    goal: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.runs), max(self.runs)

    def line(self) -> str:
        low, high = self.spread
        goal = f"  (goal {self.goal})" if self.goal else ""
        return (
            f"{self.name:48} median {self.median:>12,.1f} {self.unit}"
            f"  [{low:,.1f} .. {high:,.1f}, {len(self.runs)} runs]{goal}"
        )


@dataclass
class Report:
    benchmark: str
    figures: list[Figure] = field(default_factory=list)

    def machine(self) -> dict[str, str | int | None]:
        return {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        }

    def print(self) -> None:
        print(f"# {self.benchmark} on {self.machine()}")
        for figure in self.figures:
            print(figure.line())

    def save(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.benchmark}.json"
        document = {
            "benchmark": self.benchmark,
            "machine": self.machine(),
            "figures": [
                {**asdict(f), "median": f.median, "min": f.spread[0], "max": f.spread[1]}
                for f in self.figures
            ],
        }
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path
