"""The hidden-state guard: did the kernel's state come from running the notebook in order?

A run is only reproducible from its notebook when the kernel's state is what running the
saved notebook top to bottom would give. :func:`assess` compares the kernel's execution
history (every cell run since the extension was loaded, the running cell last) with the saved
notebook and reports three ways they differ:

* ``out_of_order``: a cell ran after a cell below it (its state includes that cell's);
* ``edited``: a cell was saved with other code after it ran (the kernel holds the old code's
  results);
* ``deleted``: a cell ran and was then deleted from the saved notebook.

Pure logic on plain values; :func:`saved_cells` reads a notebook file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jupyter_mlops.core.capture.job_context import current_job
from jupyter_mlops.core.tags import HIDDEN_STATE_CELLS_TAG, HIDDEN_STATE_TAG

__all__ = [
    "CellExecution",
    "Finding",
    "HiddenState",
    "NotebookCell",
    "assess",
    "assess_notebook",
    "saved_cells",
]

_TAG_LIMIT = 8000  # MLflow's limit on a tag value
_LISTED_BELOW = 10  # cells below named in one finding's detail
_LISTED_FINDINGS = 3  # findings named in the warning line
# nbformat 4.5 cell ids; VS Code sends its own URI-like ids, which a notebook file never holds.
_NBFORMAT_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

Kind = Literal["out_of_order", "edited", "deleted"]


@dataclass(frozen=True)
class CellExecution:
    """One execution in the kernel: the cell's id (None if the front end sent none), its raw
    source, when it started (``time.time()``) and its execution count if known."""

    cell_id: str | None
    source: str
    started: float
    execution_count: int | None = None


@dataclass(frozen=True)
class NotebookCell:
    """A cell of the saved notebook, in notebook order (``cell_id`` empty when it has none)."""

    cell_id: str
    source: str


@dataclass(frozen=True)
class Finding:
    """One reason the kernel's state differs from a top-to-bottom run of the notebook.

    ``position`` is the cell's 1-based place in the saved notebook (every cell counts,
    markdown included), None for a deleted cell.
    """

    cell_id: str
    position: int | None
    kind: Kind
    detail: str

    def sentence(self) -> str:
        label = f"cell {self.position}" if self.position is not None else f"cell {self.cell_id}"
        return f"{label} {self.detail}"


@dataclass(frozen=True)
class HiddenState:
    """The outcome of :func:`assess`; ``assessed`` is False when it could not be judged."""

    assessed: bool
    findings: tuple[Finding, ...] = ()

    def tags(self) -> dict[str, str]:
        """``mlops.hidden_state`` (and ``mlops.hidden_state.cells`` when true); {} when not
        assessed. The cells value is a compact JSON list, cut after whole findings to fit
        MLflow's 8,000-character tag limit."""
        if not self.assessed:
            return {}
        if not self.findings:
            return {HIDDEN_STATE_TAG: "false"}
        items = [
            {"cell_id": f.cell_id, "position": f.position, "kind": f.kind, "detail": f.detail}
            for f in self.findings
        ]
        text = _compact(items)
        while len(text) > _TAG_LIMIT and len(items) > 1:
            items.pop()
            text = _compact(items)
        return {HIDDEN_STATE_TAG: "true", HIDDEN_STATE_CELLS_TAG: text[:_TAG_LIMIT]}

    def warning(self) -> str | None:
        """One readable line naming the findings, None when there are none."""
        if not self.findings:
            return None
        named = "; ".join(f.sentence() for f in self.findings[:_LISTED_FINDINGS])
        more = len(self.findings) - _LISTED_FINDINGS
        if more > 0:
            named += f"; {more} more in the tag {HIDDEN_STATE_CELLS_TAG}"
        return (
            f"hidden state: {named} — re-run the notebook top to bottom "
            "(or use `jupyter-mlops run`) for a clean record"
        )


def assess(
    history: Sequence[CellExecution],
    cells: Sequence[NotebookCell] | None,
    saved_at: float | None,
) -> HiddenState:
    """Compare the kernel's execution ``history`` (oldest first, the running cell last) with
    the saved notebook ``cells``, saved at ``saved_at`` (the file's mtime).

    Only executions with an nbformat cell id count, each cell by its last execution. Not
    assessed when ``cells`` is None, or when no executed id is in the saved notebook (ids the
    notebook file does not use, or the wrong notebook).

    Example: cells a, b, c ran in order, then a again: ``a`` is out of order, after ``b`` and
    ``c``.
    """
    last: dict[str, CellExecution] = {}
    for execution in history:
        if execution.cell_id and _NBFORMAT_CELL_ID.match(execution.cell_id):
            last.pop(execution.cell_id, None)  # keep the dict in order of last execution
            last[execution.cell_id] = execution
    if cells is None:
        return HiddenState(False)
    position = {c.cell_id: i for i, c in enumerate(cells, start=1) if c.cell_id}
    if not any(cell_id in position for cell_id in last):
        return HiddenState(False)
    findings = [*_out_of_order(last, position), *_edited(last, cells, position, saved_at)]
    findings.sort(key=lambda f: (f.position is None, f.position or 0, f.kind))
    return HiddenState(True, tuple(findings))


def _out_of_order(last: dict[str, CellExecution], position: dict[str, int]) -> list[Finding]:
    findings = []
    ran = [cell_id for cell_id in last if cell_id in position]  # in order of last execution
    for index, cell_id in enumerate(ran):
        below = sorted(
            position[other] for other in ran[:index] if position[other] > position[cell_id]
        )
        if below:
            findings.append(
                Finding(cell_id, position[cell_id], "out_of_order", f"ran after {_cells(below)}")
            )
    return findings


def _edited(
    last: dict[str, CellExecution],
    cells: Sequence[NotebookCell],
    position: dict[str, int],
    saved_at: float | None,
) -> list[Finding]:
    if saved_at is None:
        return []
    source = {c.cell_id: c.source for c in cells if c.cell_id}
    findings = []
    for cell_id, execution in last.items():
        if saved_at <= execution.started:
            continue  # the file is older than this execution: it cannot tell
        if cell_id not in position:
            findings.append(Finding(cell_id, None, "deleted", "was deleted after it ran"))
        elif _normalise(source[cell_id]) != _normalise(execution.source):
            findings.append(
                Finding(cell_id, position[cell_id], "edited", "was edited after it ran")
            )
    return findings


def _cells(positions: list[int]) -> str:
    shown = ", ".join(str(p) for p in positions[:_LISTED_BELOW])
    if len(positions) > _LISTED_BELOW:
        shown += f" and {len(positions) - _LISTED_BELOW} more"
    return f"{'cells' if len(positions) > 1 else 'cell'} {shown} below it"


def _compact(items: Sequence[Mapping[str, object]]) -> str:
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def _normalise(source: str) -> str:
    """Ignore trailing whitespace per line and around the cell (IPython and papermill differ
    in trailing newlines)."""
    lines = source.replace("\r\n", "\n").strip().splitlines()
    return "\n".join(line.rstrip() for line in lines)


def assess_notebook(history: Sequence[CellExecution], notebook: Path | None) -> HiddenState:
    """:func:`assess` against the saved ``notebook``; not assessed inside ``jupyter-mlops
    run`` (whose runs are tagged clean by construction) or when the notebook is unknown."""
    if current_job() is not None or notebook is None:
        return HiddenState(False)
    cells, saved_at = saved_cells(notebook)
    return assess(history, cells, saved_at)


_SAVED: dict[Path, tuple[tuple[int, int], tuple[NotebookCell, ...] | None, float]] = {}


def saved_cells(notebook: Path) -> tuple[tuple[NotebookCell, ...] | None, float | None]:
    """The cells of the saved ``notebook`` and its mtime; (None, None) when it cannot be read,
    (None, mtime) when it has no cell ids (nbformat < 4.5). Cached on mtime and size."""
    try:
        stat = notebook.stat()
    except OSError:
        return None, None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _SAVED.get(notebook)
    if cached is None or cached[0] != key:
        cached = (key, _read_cells(notebook), stat.st_mtime)
        _SAVED[notebook] = cached
    return cached[1], cached[2]


def _read_cells(notebook: Path) -> tuple[NotebookCell, ...] | None:
    try:
        document = json.loads(notebook.read_text(encoding="utf-8"))
        cells = tuple(
            NotebookCell(_text(cell.get("id")), _text(cell.get("source")))
            for cell in document["cells"]
        )
    except (OSError, UnicodeDecodeError, ValueError, LookupError, TypeError, AttributeError):
        return None
    return cells if any(c.cell_id for c in cells) else None


def _text(value: object) -> str:
    """A notebook string field: a string, or a list of lines (nbformat allows both)."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""
