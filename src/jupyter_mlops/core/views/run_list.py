"""The runs a notebook recorded, as a table that renders as HTML in JupyterLab and as text."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from mlflow.entities import Run, ViewType

from jupyter_mlops.core.capture.provenance import notebook_filter
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.causes import store_cause
from jupyter_mlops.core.store.times import store_time
from jupyter_mlops.core.tags import keys_tag

__all__ = ["RunList", "RunRow", "notebook_runs"]

V = TypeVar("V")
_COLUMNS = ("name", "status", "start", "duration", "params", "metrics")
_MAX_CELL = 80


@dataclass(frozen=True)
class RunRow:
    """One run, flattened for display."""

    run_id: str
    name: str
    status: str
    start: datetime | None
    duration_s: float | None
    params: dict[str, str]
    metrics: dict[str, float]
    key_params: tuple[str, ...] = ()  # chosen by the user (--params, papermill, log_params)
    key_metrics: tuple[str, ...] = ()

    def cells(self) -> tuple[str, ...]:
        """The row's display values, in column order: only the chosen params/metrics (all
        when none were chosen), alphabetically."""
        return (
            self.name,
            self.status,
            self.start.strftime("%Y-%m-%d %H:%M:%S") if self.start else "",
            _duration(self.duration_s),
            _summary(self.params, self.key_params, str),
            _summary(self.metrics, self.key_metrics, lambda v: f"{v:.4g}"),
        )


@dataclass(frozen=True)
class RunList:
    """Runs newest first, with what they were filtered by; displays itself."""

    rows: tuple[RunRow, ...]
    notebook: str | None  # the notebook (or script) the runs were recorded from
    experiment: str
    kind: str = "notebook"  # or "script"

    def to_text(self) -> str:
        """Plain-text table (what a terminal shows)."""
        title = self._title()
        if not self.rows:
            return f"{title}\n(no runs yet)"
        table = [_COLUMNS, *(row.cells() for row in self.rows)]
        widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip()
            for line in table
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join([title, *lines])

    def to_html(self) -> str:
        """HTML table (what JupyterLab shows)."""
        head = "".join(f"<th>{c}</th>" for c in _COLUMNS)
        body = (
            "".join(
                "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row.cells()) + "</tr>"
                for row in self.rows
            )
            or f'<tr><td colspan="{len(_COLUMNS)}">no runs yet</td></tr>'
        )
        return (
            f'<div class="jupyter-mlops-runs"><p>{html.escape(self._title())}</p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def _title(self) -> str:
        count, experiment = len(self.rows), f"experiment {self.experiment!r}"
        if self.notebook:
            return f"{count} run(s) of {self.kind} {self.notebook} in {experiment}"
        return f"{count} run(s) in {experiment} (notebook unknown: all runs)"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.to_text()


def notebook_runs(target: Target, limit: int = 20) -> RunList:
    """Return the ``limit`` newest runs recorded from ``target``'s notebook.

    When the notebook is unknown, the newest runs of the experiment are returned instead.

    Raises:
        MlopsError: USAGE when ``limit`` is not positive; TRACKING_UNAVAILABLE when the store
            cannot be queried.
    """
    if limit < 1:
        raise MlopsError(f"--limit must be a positive number, not {limit}", ErrorCode.USAGE)
    query, notebook, kind = notebook_filter(target)
    experiment_id = target.existing_experiment_id()  # listing creates no experiment
    if experiment_id is None:
        return RunList((), notebook, target.settings.experiment, kind)
    try:
        runs = target.client.search_runs(
            [experiment_id],
            filter_string=query,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=limit,
            order_by=["attributes.start_time DESC"],
        )
    except Exception as exc:
        raise MlopsError(
            f"cannot list runs in {target.settings.display_uri}: "
            f"{store_cause(exc, target.settings.tracking_uri)}",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from exc
    return RunList(tuple(_row(run) for run in runs), notebook, target.settings.experiment, kind)


def _row(run: Run) -> RunRow:
    info = run.info
    utc = store_time(info.start_time)
    start = None if utc is None else utc.astimezone()
    duration = (
        (info.end_time - info.start_time) / 1000 if info.end_time and info.start_time else None
    )
    return RunRow(
        run_id=info.run_id,
        name=info.run_name or info.run_id[:8],
        status=info.status,
        start=start,
        duration_s=duration,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        key_params=_keys(run, "params"),
        key_metrics=_keys(run, "metrics"),
    )


def _keys(run: Run, kind: str) -> tuple[str, ...]:
    value = run.data.tags.get(keys_tag(kind), "")
    return tuple(k for k in value.split(",") if k)


def _summary(values: Mapping[str, V], keys: tuple[str, ...], shown: Callable[[V], str]) -> str:
    """``k=v`` for the chosen keys (all keys when none were chosen), then ``+N more``.

    Alphabetical, whatever order the keys were chosen in: every row of a table shows its
    columns' values in the same order.
    """
    chosen = sorted(k for k in keys if k in values) or sorted(values)
    text = ", ".join(f"{k}={shown(values[k])}" for k in chosen)
    hidden = len(values) - len(chosen)
    return _clip(f"{text} (+{hidden} more)" if hidden else text)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"
