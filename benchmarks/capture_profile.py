"""Where the time of one ``%%mlops run`` goes: ``python -m benchmarks.capture_profile``.

A diagnostic, not a benchmark with a target: in the same throw-away project as
``capture_overhead`` it runs the ``--no-autolog`` cell and the hand-written MLflow baseline
interleaved, with timers wrapped (in this process only) around the phases of the capture and
around MLflow's store calls, and counts SQLite commits that wrote something (each one a disk
sync). It prints, per executed cell and for both variants, milliseconds, calls and the write
commits made inside each phase. Timers add a little overhead; compare rows, not totals
with ``capture_overhead``. A phase whose function was renamed or removed is left out.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from benchmarks._common import interleaved, machine_description, median
from benchmarks._notebook_project import notebook_project

_MODULES = {
    "magics": "jupyter_mlops.magics",
    "magic_run": "jupyter_mlops.magics.run",
    "capture": "jupyter_mlops.core.capture.record",
    "run_capture": "jupyter_mlops.core.capture.run_capture",
    "run_files": "jupyter_mlops.core.capture.run_files",
    "provenance": "jupyter_mlops.core.capture.provenance",
    "cell": "jupyter_mlops.magics.cell",
    "mlflow": "mlflow",
    "store": "mlflow.store.tracking.sqlalchemy_store",
}
# label -> "module:attribute path"; indentation in a label shows what it is part of.
PHASES: dict[str, str] = {
    "%%mlops run (MlopsMagics._dispatch)": "magics:MlopsMagics._dispatch",
    "  describe_cell": "magic_run:describe_cell",
    "  compile_body": "magic_run:compile_body",
    "  start_capture": "capture:start_capture",
    "    lineage_tags": "capture:lineage_tags",
    "      find_cell_id": "provenance:find_cell_id",
    "  git state (background thread, overlaps)": "provenance:read_git_state",
    "  RunCapture.activate (code/cell.py, push run)": "capture:RunCapture.activate",
    "  cell body (CompiledBody.run)": "cell:CompiledBody.run",
    "  RunCapture.collect": "capture:RunCapture.collect",
    "    summarize (fingerprint)": "run_capture:summarize",
    "  RunCapture.finish": "capture:RunCapture.finish",
    "    _flush": "capture:RunCapture._flush",
    "      _log_batch": "capture:RunCapture._log_batch",
    "      write_run_files": "run_capture:write_run_files",
    "        notebook_snapshot": "run_files:notebook_snapshot",
    "    _end (set_terminated)": "capture:RunCapture._end",
    "MlflowClient.create_run": "mlflow:MlflowClient.create_run",
    "MlflowClient.get_run": "mlflow:MlflowClient.get_run",
    "MlflowClient.log_batch": "mlflow:MlflowClient.log_batch",
    "MlflowClient.log_inputs": "mlflow:MlflowClient.log_inputs",
    "MlflowClient.set_terminated": "mlflow:MlflowClient.set_terminated",
    "SqlAlchemyStore.create_run": "store:SqlAlchemyStore.create_run",
    "SqlAlchemyStore.get_run": "store:SqlAlchemyStore.get_run",
    "SqlAlchemyStore.update_run_info": "store:SqlAlchemyStore.update_run_info",
    "SqlAlchemyStore.log_batch": "store:SqlAlchemyStore.log_batch",
    "SqlAlchemyStore.log_inputs": "store:SqlAlchemyStore.log_inputs",
}
COMMITS = "SQLite write commits (total)"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Recorder:
    """Seconds, calls and SQLite commits per label, for the variant currently running."""

    def __init__(self) -> None:
        self.variant = ""
        self._local = threading.local()  # labels in progress, per thread (git runs on one)
        self.reset()

    @property
    def active(self) -> list[str]:
        """Labels of the wrapped calls in progress on the calling thread."""
        if not hasattr(self._local, "labels"):
            self._local.labels = []
        labels: list[str] = self._local.labels
        return labels

    def reset(self) -> None:
        self.seconds: dict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.calls: dict[str, Counter[str]] = defaultdict(Counter)
        self.commits: dict[str, Counter[str]] = defaultdict(Counter)

    def statement(self, connection: Any, _cursor: object, statement: str, *_: object) -> None:
        """SQLAlchemy ``before_cursor_execute`` event: remember that this transaction writes."""
        if statement.lstrip().upper().startswith(_WRITES):
            connection.info["benchmark_writes"] = True

    def commit(self, connection: Any) -> None:
        """SQLAlchemy ``commit`` event: count a writing commit for every phase in progress."""
        if connection.info.pop("benchmark_writes", False):
            for label in {*self.active, COMMITS}:
                self.commits[self.variant][label] += 1

    def timing(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.active.append(label)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[self.variant][label] += time.perf_counter() - started
                self.calls[self.variant][label] += 1
                self.active.pop()

        return wrapper

    def labelled(self, variant: str, function: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            self.variant = variant
            function()

        return run

    def row(self, variant: str, label: str, rounds: int) -> list[str]:
        calls = self.calls[variant][label] / rounds
        commits = self.commits[variant][label] / rounds
        if label == COMMITS:
            return ["", "", f"{commits:.1f}"]
        if not calls:
            return ["-", "-", "-"]
        return [
            f"{self.seconds[variant][label] / rounds * 1e3:.2f}",
            f"{calls:.1f}",
            f"{commits:.1f}",
        ]


@contextmanager
def instrumented(recorder: Recorder) -> Iterator[list[str]]:
    """Wrap every phase that exists; yield their labels; restore the originals afterwards."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    undo: list[tuple[object, str, object]] = []
    labels: list[str] = []
    for label, where in PHASES.items():
        module, _, path = where.partition(":")
        owner: Any = importlib.import_module(_MODULES[module])
        *parents, attribute = path.split(".")
        try:
            for parent in parents:
                owner = getattr(owner, parent)
            original = vars(owner)[attribute]
        except (AttributeError, KeyError):
            continue
        undo.append((owner, attribute, original))
        setattr(owner, attribute, recorder.timing(label, getattr(owner, attribute)))
        labels.append(label)

    event.listen(Engine, "before_cursor_execute", recorder.statement)
    event.listen(Engine, "commit", recorder.commit)
    try:
        yield [*labels, COMMITS]
    finally:
        event.remove(Engine, "commit", recorder.commit)
        event.remove(Engine, "before_cursor_execute", recorder.statement)
        for owner, attribute, original in reversed(undo):
            setattr(owner, attribute, original)


def profile(rounds: int, warmup: int) -> str:
    """Run both variants interleaved under the timers; return the breakdown as text."""
    recorder = Recorder()
    with notebook_project() as project, instrumented(recorder) as labels:
        variants = {
            "ours": recorder.labelled("ours", project.ours),
            "baseline": recorder.labelled("baseline", project.baseline),
        }
        interleaved(variants, rounds=warmup, warmup=0)
        recorder.reset()
        times = interleaved(variants, rounds=rounds, warmup=0)
    width = max(len(label) for label in labels)
    row = "{:<" + str(width) + "}  {:>8} {:>5} {:>7}  {:>11} {:>5} {:>7}"
    head = ("ms", "calls", "writes")
    lines = [row.format("phase (per executed cell)", *head, *head)]
    lines.insert(0, row.format("", "", "ours", "", "", "baseline", ""))
    for label in labels:
        lines.append(
            row.format(
                label,
                *recorder.row("ours", label, rounds),
                *recorder.row("baseline", label, rounds),
            )
        )
    medians = {name: median(values) * 1e3 for name, values in times.items()}
    lines.append(
        f"\nwall time per cell (median of {rounds}, timers on): ours {medians['ours']:.1f} ms, "
        f"baseline {medians['baseline']:.1f} ms"
    )
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capture_profile")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    args = parser.parse_args(argv)
    print(machine_description(), end="\n\n")
    print(profile(args.rounds, warmup=3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
