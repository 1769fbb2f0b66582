"""Runs side by side: where they came from, params, metrics and data, differences marked.

Built as data (:class:`RunComparison`), rendered as a text table or as JSON. A row *differs*
when its values are not all equal (a value missing from some runs counts as different).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlflow.entities import Run

from jupyter_mlops.core.capture.datasets import data_fingerprints
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.run_ids import find_runs
from jupyter_mlops.core.store.times import iso_time
from jupyter_mlops.core.tags import (
    CELL_ID_TAG,
    GIT_DIRTY_TAG,
    JOB_NAME_TAG,
    NOTEBOOK_PATH_TAG,
    SCRIPT_PATH_TAG,
    keys_tag,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["ComparedRun", "ComparisonRow", "RunComparison", "compare_runs"]

Value = str | float | None
#: Where a run came from: row name -> run tag.
_SOURCE_TAGS = (
    ("notebook", NOTEBOOK_PATH_TAG),
    ("script", SCRIPT_PATH_TAG),
    ("cell", CELL_ID_TAG),
    ("job", JOB_NAME_TAG),
    ("commit", "mlflow.source.git.commit"),
    ("dirty", GIT_DIRTY_TAG),
)
_SHORT = 12  # digits of commits and fingerprints in the text table
_MAX_CELL = 40  # longer values are clipped in the text table (never in JSON)


@dataclass(frozen=True)
class ComparedRun:
    """One compared run's identity."""

    run_id: str
    name: str
    status: str
    start_time: str | None  # ISO 8601, UTC
    experiment_id: str


@dataclass(frozen=True)
class ComparisonRow:
    """One compared field: its section (source, params, metrics, data), key and values."""

    section: str
    key: str
    values: tuple[Value, ...]  # one per run, None when the run has no such value

    @property
    def differs(self) -> bool:
        """Whether the runs disagree on this field (a missing value disagrees)."""
        return len(set(self.values)) > 1


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side, in the order they were named."""

    runs: tuple[ComparedRun, ...]
    rows: tuple[ComparisonRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: ``runs`` and ``rows`` (section, key, values, differs)."""
        return {
            "runs": [asdict(run) for run in self.runs],
            "rows": [
                {"section": r.section, "key": r.key, "values": list(r.values), "differs": r.differs}
                for r in self.rows
            ],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """A table: one column per run, ``*`` in front of the rows whose values differ."""
        lines: list[tuple[str, str, tuple[str, ...]]] = [
            (" ", "run", tuple(r.run_id[:_SHORT] for r in self.runs)),
            (" ", "name", tuple(r.name for r in self.runs)),
            (" ", "status", tuple(r.status for r in self.runs)),
            (" ", "started", tuple(_local(r.start_time) for r in self.runs)),
        ]
        headings: dict[int, str] = {}  # line index -> the section starting there
        section = None
        for row in self.rows:
            if row.section != section:
                section = headings[len(lines)] = row.section
            shown = tuple(_shown(row.section, row.key, v) for v in row.values)
            lines.append(("*" if row.differs else " ", row.key, shown))
        key_width = max(len(key) for _, key, _ in lines)
        widths = [max(len(values[i]) for _, _, values in lines) for i in range(len(self.runs))]
        text = [f"Comparing {len(self.runs)} runs (* = differs)"]
        for index, (mark, key, values) in enumerate(lines):
            if index in headings:
                text.append(headings[index])
            cells = [
                key.ljust(key_width),
                *(v.ljust(w) for v, w in zip(values, widths, strict=True)),
            ]
            text.append(f"{mark} {'  '.join(cells)}".rstrip())
        return "\n".join(text)


def compare_runs(client: MlflowClient, refs: Sequence[str], store: str) -> RunComparison:
    """Compare the runs ``refs`` name (run ids or unique prefixes), at least two.

    Raises:
        MlopsError: USAGE for fewer than two runs or a malformed reference; NOT_FOUND for a
            run that does not exist (see :func:`~jupyter_mlops.core.store.run_ids.find_runs`).
    """
    if len(refs) < 2:
        raise MlopsError(f"compare needs at least 2 run ids, got {len(refs)}", ErrorCode.USAGE)
    runs = find_runs(client, refs, store)
    rows: list[ComparisonRow] = []
    for key, tag in _SOURCE_TAGS:
        values = tuple(run.data.tags.get(tag) for run in runs)
        if any(v is not None for v in values):
            rows.append(ComparisonRow("source", key, values))
    params: list[Mapping[str, Value]] = [run.data.params for run in runs]
    metrics: list[Mapping[str, Value]] = [run.data.metrics for run in runs]
    data: list[Mapping[str, Value]] = [data_fingerprints(run.data.tags) for run in runs]
    rows += _section("params", params, _chosen(runs, "params"))
    rows += _section("metrics", metrics, _chosen(runs, "metrics"))
    rows += _section("data", data, ())
    return RunComparison(tuple(_identity(run) for run in runs), tuple(rows))


def _section(
    name: str, per_run: list[Mapping[str, Value]], first: Sequence[str]
) -> list[ComparisonRow]:
    """Rows of one section: the keys chosen first (in order), then the others alphabetically."""
    keys = {k for values in per_run for k in values}
    ordered = [k for k in dict.fromkeys(first) if k in keys] + sorted(keys - set(first))
    return [ComparisonRow(name, k, tuple(values.get(k) for values in per_run)) for k in ordered]


def _chosen(runs: Sequence[Run], kind: str) -> list[str]:
    """The keys the runs' authors chose to show (``mlops.<kind>.keys``), in order."""
    return [key for run in runs for key in run.data.tags.get(keys_tag(kind), "").split(",") if key]


def _identity(run: Run) -> ComparedRun:
    info = run.info
    start = iso_time(info.start_time)
    return ComparedRun(
        info.run_id, info.run_name or info.run_id[:8], info.status, start, info.experiment_id
    )


_FORMATS: dict[str, Callable[[Any], str]] = {
    "metrics": lambda v: f"{v:.6g}",
    "data": lambda v: str(v)[:_SHORT],
}


def _shown(section: str, key: str, value: Value) -> str:
    if value is None:
        return "-"
    if section == "source" and key == "commit":
        return str(value)[:_SHORT]
    text = _FORMATS.get(section, str)(value)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _local(iso: str | None) -> str:
    if iso is None:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
