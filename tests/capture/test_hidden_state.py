"""The hidden-state guard: ``assess`` on plain values, then ``%%mlops run`` in a real shell."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.core.capture.hidden_state import (
    CellExecution,
    Finding,
    HiddenState,
    NotebookCell,
    assess,
    saved_cells,
)
from support.runs import only_run, runs_of

CELLS = [NotebookCell(f"c{n}", f"x{n} = {n}\n") for n in range(1, 6)]  # c1 .. c5, in order


def executions(*ids: str, start: float = 1000.0) -> list[CellExecution]:
    """The cells ``ids`` run one second apart, each with its saved source."""
    source = {c.cell_id: c.source for c in CELLS}
    return [
        CellExecution(cell_id, source.get(cell_id, "gone = 1"), start + i)
        for i, cell_id in enumerate(ids)
    ]


def test_cells_run_in_order_are_clean():
    state = assess(executions("c1", "c2", "c3", "c3", "c4"), CELLS, saved_at=5000.0)
    assert state == HiddenState(True, ())
    assert state.tags() == {"mlops.hidden_state": "false"}
    assert state.warning() is None


def test_a_cell_re_run_after_cells_below_it_is_out_of_order():
    # c2 re-run after c3 and c4: the running cell (last) counts too
    state = assess(executions("c1", "c2", "c3", "c4", "c2"), CELLS, saved_at=None)
    assert state.findings == (Finding("c2", 2, "out_of_order", "ran after cells 3, 4 below it"),)
    tags = state.tags()
    assert tags["mlops.hidden_state"] == "true"
    assert json.loads(tags["mlops.hidden_state.cells"]) == [
        {
            "cell_id": "c2",
            "position": 2,
            "kind": "out_of_order",
            "detail": "ran after cells 3, 4 below it",
        }
    ]


def test_re_running_the_cells_below_again_makes_it_clean():
    state = assess(executions("c1", "c2", "c3", "c4", "c2", "c3", "c4"), CELLS, saved_at=None)
    assert state == HiddenState(True, ())


def test_cell_edited_and_saved_after_it_ran():
    history = executions("c1", "c2", "c3")
    history[1] = CellExecution("c2", "x2 = 'old value'", history[1].started)
    state = assess(history, CELLS, saved_at=history[-1].started + 60)
    assert state.findings == (Finding("c2", 2, "edited", "was edited after it ran"),)
    assert state.warning() == (
        "hidden state: cell 2 was edited after it ran — re-run the notebook top to bottom "
        "(or use `jupyter-mlops run`) for a clean record"
    )


def test_notebook_saved_before_the_execution_is_not_an_edit():
    history = executions("c1", "c2", "c3")
    history[1] = CellExecution("c2", "x2 = 'typed but not saved yet'", history[1].started)
    assert assess(history, CELLS, saved_at=history[0].started - 1) == HiddenState(True, ())


def test_trailing_whitespace_and_newlines_are_not_an_edit():
    history = [CellExecution("c1", "x1 = 1   \n\n\n", 1000.0)]
    assert assess(history, CELLS, saved_at=2000.0) == HiddenState(True, ())


def test_cell_deleted_after_it_ran():
    history = executions("c1", "scratch", "c2")
    state = assess(history, CELLS, saved_at=history[-1].started + 1)
    assert state.findings == (Finding("scratch", None, "deleted", "was deleted after it ran"),)
    assert "cell scratch was deleted after it ran" in (state.warning() or "")
    # a cell added after the last save is not in the file yet: not deleted
    assert assess(history, CELLS, saved_at=history[0].started - 1) == HiddenState(True, ())


def test_not_assessed_without_ids_or_notebook():
    no_ids = [CellExecution(None, "x1 = 1\n", 1000.0), CellExecution(None, "x2 = 2\n", 1001.0)]
    assert assess(no_ids, CELLS, saved_at=5000.0) == HiddenState(False)
    assert assess(executions("c2", "c1"), None, saved_at=None) == HiddenState(False)
    vscode = [CellExecution("vscode-notebook-cell:/n.ipynb#W1sZmlsZQ==", "x1 = 1\n", 1000.0)]
    assert assess(vscode, CELLS, saved_at=5000.0) == HiddenState(False)
    assert HiddenState(False).tags() == {}
    assert HiddenState(False).warning() is None


def test_findings_are_ordered_and_the_tag_fits_mlflows_limit():
    cells = [NotebookCell(f"cell-{n:04d}", f"v = {n}") for n in range(400)]
    history = [
        CellExecution(c.cell_id, c.source, 1000.0 + i) for i, c in enumerate(reversed(cells))
    ]
    state = assess(history, cells, saved_at=None)
    assert len(state.findings) == 399
    assert (
        state.findings[0].detail
        == "ran after cells 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 389 more below it"
    )
    cells_tag = state.tags()["mlops.hidden_state.cells"]
    assert len(cells_tag) <= 8000
    listed = json.loads(cells_tag)
    assert [item["position"] for item in listed] == list(range(1, len(listed) + 1))
    warning = state.warning() or ""
    assert "396 more in the tag mlops.hidden_state.cells" in warning


def test_saved_cells_reads_ids_sources_and_mtime(tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title", id="intro"), code_cell("a", "x = 1\n")]
    nbformat.write(nb, tmp_path / "n.ipynb")
    os.utime(tmp_path / "n.ipynb", (1000.0, 1000.0))
    cells, saved_at = saved_cells(tmp_path / "n.ipynb")
    assert cells == (NotebookCell("intro", "# title"), NotebookCell("a", "x = 1\n"))
    assert saved_at == 1000.0
    assert saved_cells(tmp_path / "missing.ipynb") == (None, None)
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    assert saved_cells(tmp_path / "broken.ipynb")[0] is None


# --- %%mlops run in a real shell ----------------------------------------------------------

NOTEBOOK_CELLS = [
    ("load", "x = 1"),
    ("prepare", "y = x + 1"),
    ("train", "%%mlops run --no-autolog\nz = y * 2"),
    ("report", "w = z"),
]


def code_cell(cell_id: str, source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, id=cell_id)


@pytest.fixture
def notebook(shell, tmp_path: Path) -> Path:
    """A saved notebook (saved an hour ago) that ``%mlops init --notebook`` points at."""
    path = tmp_path / "train.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [code_cell(cell_id, source) for cell_id, source in NOTEBOOK_CELLS]
    nbformat.write(nb, path)
    saved = path.stat().st_mtime - 3600
    os.utime(path, (saved, saved))
    shell.run_line_magic("mlops", f"init --notebook {path}")
    return path


def run(shell, *cell_ids: str) -> None:
    sources = dict(NOTEBOOK_CELLS)
    for cell_id in cell_ids:
        assert shell.run_cell(sources[cell_id], store_history=True, cell_id=cell_id).success


def test_cells_run_in_order_are_tagged_clean(shell, client, notebook, capsys):
    run(shell, "load", "prepare", "train")
    tags = only_run(client).data.tags
    assert tags["mlops.hidden_state"] == "false"
    assert "mlops.hidden_state.cells" not in tags
    assert "hidden state" not in capsys.readouterr().err


def test_re_run_after_a_cell_below_warns_once_and_tags_the_cells(shell, client, notebook, capsys):
    run(shell, "load", "prepare", "train", "report")
    capsys.readouterr()
    run(shell, "train")
    first, second = sorted(runs_of(client), key=lambda r: r.data.tags["mlops.hidden_state"])
    assert first.data.tags["mlops.hidden_state"] == "false"
    latest = second
    assert latest.data.tags["mlops.hidden_state"] == "true"
    assert json.loads(latest.data.tags["mlops.hidden_state.cells"]) == [
        {
            "cell_id": "train",
            "position": 3,
            "kind": "out_of_order",
            "detail": "ran after cell 4 below it",
        }
    ]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "hidden state" in line]
    assert warnings == [
        "jupyter-mlops: warning: hidden state: cell 3 ran after cell 4 below it — re-run the "
        "notebook top to bottom (or use `jupyter-mlops run`) for a clean record"
    ]


def test_cell_edited_and_saved_after_it_ran_is_reported(shell, client, notebook):
    run(shell, "load", "prepare")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].source = "y = x + 100"  # edited in the browser and saved, not re-run
    nbformat.write(nb, notebook)
    now = time.time()  # the file clock is coarser than time.time(): state the save time
    os.utime(notebook, (now, now))
    run(shell, "train")
    tags = only_run(client).data.tags
    assert tags["mlops.hidden_state"] == "true"
    assert json.loads(tags["mlops.hidden_state.cells"])[0]["kind"] == "edited"


def test_no_notebook_means_no_tag(shell, client):
    shell.run_cell("%%mlops run --no-autolog\nz = 2", cell_id="train")
    assert "mlops.hidden_state" not in only_run(client).data.tags


def test_job_runs_are_clean_and_not_warned(shell, client, notebook, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_JOB_ID", "job-1")
    monkeypatch.setenv("JUPYTER_MLOPS_JOB_NAME", "nightly")
    run(shell, "load", "prepare", "train", "report", "train")
    for recorded in runs_of(client):
        assert recorded.data.tags["mlops.hidden_state"] == "false"
        assert "mlops.hidden_state.cells" not in recorded.data.tags
        assert recorded.data.tags["mlops.job.id"] == "job-1"
    assert "hidden state" not in capsys.readouterr().err
