"""``python -m benchmarks [--quick] [--only NAME] [--check]``: run the benchmarks, print a table.

Stores, notebooks and IPython's profile live in temporary directories; nothing is downloaded.
The exit status is 0 unless ``--check`` is given and a target is missed (then 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

# Before MLflow is imported anywhere: no usage telemetry from a benchmark run.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from benchmarks import (
    capture_overhead,
    fingerprint_speed,
    gates_speed,
    job_overhead,
    registry_speed,
    server_speed,
)
from benchmarks._common import Result, machine_description, render

BENCHMARKS: dict[str, Callable[[bool], list[Result]]] = {
    capture_overhead.NAME: capture_overhead.run,
    fingerprint_speed.NAME: fingerprint_speed.run,
    registry_speed.NAME: registry_speed.run,
    job_overhead.NAME: job_overhead.run,
    server_speed.NAME: server_speed.run,
    gates_speed.NAME: gates_speed.run,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of jupyter-mlops (see docs/benchmarks.md).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (noisier; for a quick look)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 when a target is missed"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = args.only or list(BENCHMARKS)
    mode = "quick" if args.quick else "full"
    print(f"jupyter-mlops benchmarks ({mode}: {', '.join(names)})")
    print(machine_description(), end="\n\n", flush=True)
    results: list[Result] = []
    for name in names:
        started = time.perf_counter()
        print(f"running {name} ...", end=" ", flush=True)
        results += BENCHMARKS[name](args.quick)
        print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
    print()
    print(render(results))
    missed = [r for r in results if r.verdict == "MISS"]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
