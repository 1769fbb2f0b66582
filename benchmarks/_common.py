"""Shared pieces of the benchmarks: results with targets, interleaved timing, the report."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata

__all__ = [
    "Result",
    "Target",
    "interleaved",
    "machine_description",
    "median",
    "paired_ratios",
    "render",
    "timed",
]


@dataclass(frozen=True)
class Target:
    """A threshold a measured value must meet: ``value <= limit`` or ``value >= limit``."""

    op: str  # "<=" or ">="
    limit: float

    def met_by(self, value: float) -> bool:
        return value <= self.limit if self.op == "<=" else value >= self.limit


@dataclass(frozen=True)
class Result:
    """One printed row: what was measured, the value, and the target it is held to (if any)."""

    benchmark: str
    measurement: str
    value: float
    unit: str  # "x" for ratios, "s" or "ms" for times
    target: Target | None = None
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if self.target.met_by(self.value) else "MISS"

    def shown_value(self) -> str:
        return (
            f"{self.value:.2f}{self.unit}" if self.unit == "x" else f"{self.value:.3f} {self.unit}"
        )

    def shown_target(self) -> str:
        if self.target is None:
            return "-"
        limit = f"{self.target.limit:g}"
        return (
            f"{self.target.op} {limit}{self.unit}"
            if self.unit == "x"
            else f"{self.target.op} {limit} {self.unit}"
        )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timed(function: Callable[[], object]) -> float:
    """Wall-clock seconds of one call (``perf_counter``)."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def interleaved(
    variants: Mapping[str, Callable[[], object]], *, rounds: int, warmup: int
) -> dict[str, list[float]]:
    """Time each variant once per round, in an order that rotates every round.

    Rotation (ABC, BCA, CAB, ...) keeps a variant from always following the same one, so
    neither benefits from, or pays for, what the previous call left behind (caches, a SQLite
    checkpoint). Warm-up rounds run every variant but are not recorded. Garbage is collected
    between rounds, outside the timed calls.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        gc.collect()
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(variants[name]))
    return times


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """Per-round ratios: each numerator divided by the baseline timed in the same round."""
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> str:
    """Cores, CPU, Python and the versions of the libraries the numbers depend on."""
    cores = os.cpu_count() or 0
    libraries = ", ".join(
        f"{name} {_version(name)}"
        for name in ("jupyter-mlops", "mlflow", "pandas", "numpy", "ipython", "sqlalchemy")
    )
    return (
        f"{cores} cores ({_cpu_model()}), {platform.platform()}\n"
        f"Python {platform.python_version()}; {libraries}"
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def render(results: Sequence[Result]) -> str:
    """The results as a fixed-width table, each benchmark's details below it."""
    header = ("benchmark", "measurement", "target", "measured", "result")
    rows = [
        (r.benchmark, r.measurement, r.shown_target(), r.shown_value(), r.verdict) for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    details = [
        textwrap.fill(f"{r.measurement}: {r.detail}", width=100, subsequent_indent="    ")
        for r in results
        if r.detail
    ]
    return "\n".join([*lines, "", *details] if details else lines)
