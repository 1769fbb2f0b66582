"""Capture overhead: ``%%mlops run`` against the same logging written by hand with MLflow.

Both variants execute the same cell computation (a few numpy operations on a 1,000 x 8
DataFrame named in the cell) in one real ``InteractiveShell``, record into the same SQLite
store and experiment, and run interleaved after warm-up rounds, so both see the same disk,
store size, caches and process state. The baseline is what a careful user writes:
``with mlflow.start_run():``, the computation, one ``mlflow.log_params`` and one
``mlflow.log_metrics`` call (batch calls), the run ended by the ``with`` block.

``%%mlops run`` records more than that baseline (lineage tags, git state, a dataset input
with the full-content fingerprint of the frame, the cell, a notebook snapshot and
``requirements.txt``); the target says this may cost at most half again as much.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from benchmarks._common import Result, Target, interleaved, median, paired_ratios
from benchmarks._notebook_project import notebook_project

__all__ = ["NAME", "run"]

NAME = "capture_overhead"
TARGET = Target("<=", 1.5)


def run(quick: bool = False) -> list[Result]:
    """Time the three variants interleaved; return the ratios to the hand-written baseline."""
    rounds, warmup = (10, 3) if quick else (30, 5)
    with notebook_project() as project:
        times = interleaved(
            {
                "ours": project.ours,
                "ours_autolog": project.ours_autolog,
                "baseline": project.baseline,
            },
            rounds=rounds,
            warmup=warmup,
        )
        verified = project.verify()
    baseline = times["baseline"]
    setup = (
        f"{rounds} interleaved rounds after {warmup} warm-up rounds; "
        f"baseline median {median(baseline) * 1e3:.1f} ms"
    )
    return [
        _ratio(
            "%%mlops run --no-autolog vs hand-written MLflow",
            times["ours"],
            baseline,
            TARGET,
            f"{setup}; {verified}",
        ),
        _ratio("%%mlops run (autolog on) vs hand-written MLflow", times["ours_autolog"], baseline),
    ]


def _ratio(
    measurement: str,
    ours: Sequence[float],
    baseline: Sequence[float],
    target: Target | None = None,
    note: str = "",
) -> Result:
    ratios = paired_ratios(ours, baseline)
    deciles = statistics.quantiles(ratios, n=10)
    detail = (
        f"median of per-round ratios {median(ratios):.2f}x (p10 {deciles[0]:.2f}x, "
        f"p90 {deciles[-1]:.2f}x); median {median(ours) * 1e3:.1f} ms per cell, ratio of "
        f"medians {median(ours) / median(baseline):.2f}x"
    )
    return Result(
        NAME,
        measurement,
        median(ratios),
        "x",
        target,
        f"{detail}; {note}" if note else detail,
    )
