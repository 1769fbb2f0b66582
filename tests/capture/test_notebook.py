"""Finding the running notebook and its cell, from plain inputs (no kernel needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.core.capture.injected_parameters import injected_parameters
from jupyter_mlops.core.capture.notebook import discover_notebook, find_cell_id, notebook_snapshot

CELL = "%%mlops run --params C\nC = 1.0\nmodel = fit(C)"


def _notebook(path: Path, *sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return nb


def _discover(tmp_path: Path, **kwargs: object):
    defaults: dict[str, object] = {
        "env": {},
        "namespace": {},
        "cwd": tmp_path,
        "parent_pid": os.getpid(),
        "main_script": "",
    }
    defaults.update(kwargs)
    return discover_notebook(**defaults)  # type: ignore[arg-type]


def test_explicit_path_wins(tmp_path: Path):
    _notebook(tmp_path / "a.ipynb", CELL)
    found = _discover(tmp_path, explicit="a.ipynb", env={"JPY_SESSION_NAME": "other.ipynb"})
    assert (found.path, found.found_by) == ((tmp_path / "a.ipynb").resolve(), "argument")


def test_explicit_missing_path_is_an_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _discover(tmp_path, explicit="missing.ipynb")


def test_jupyter_server_session_name_relative_to_server_root(tmp_path: Path):
    _notebook(tmp_path / "work" / "nb" / "model.ipynb", CELL)
    found = _discover(
        tmp_path / "work" / "nb",
        env={"JPY_SESSION_NAME": "work/nb/model.ipynb"},
        cwd=tmp_path / "work" / "nb",
    )
    assert (found.path, found.found_by) == (
        (tmp_path / "work" / "nb" / "model.ipynb").resolve(),
        "jupyter-server",
    )


def test_jupyter_server_session_name_absolute(tmp_path: Path):
    _notebook(tmp_path / "m.ipynb", CELL)
    found = _discover(tmp_path, env={"JPY_SESSION_NAME": str(tmp_path / "m.ipynb")})
    assert found.found_by == "jupyter-server"


def test_vscode_variable(tmp_path: Path):
    _notebook(tmp_path / "v.ipynb", CELL)
    found = _discover(tmp_path, namespace={"__vsc_ipynb_file__": str(tmp_path / "v.ipynb")})
    assert found.found_by == "vscode"


def test_our_environment_variable_beats_jupyter_server(tmp_path: Path):
    _notebook(tmp_path / "job.ipynb", CELL)
    _notebook(tmp_path / "ui.ipynb", CELL)
    found = _discover(
        tmp_path,
        env={"JUPYTER_MLOPS_NOTEBOOK": "job.ipynb", "JPY_SESSION_NAME": str(tmp_path / "ui.ipynb")},
    )
    assert (found.path.name, found.found_by) == ("job.ipynb", "environment")


def test_python_script_anchors_like_a_notebook(tmp_path: Path):
    (tmp_path / "train.py").write_text("print(1)\n")
    found = _discover(tmp_path, main_script="train.py")
    assert (found.path, found.found_by) == ((tmp_path / "train.py").resolve(), "script")
    launcher = tmp_path / "site-packages" / "ipykernel_launcher.py"
    launcher.parent.mkdir()
    launcher.write_text("")
    assert _discover(tmp_path, main_script=str(launcher)).found_by == "none"


def test_search_by_cell_source_follows_papermill_output_to_its_input(tmp_path: Path):
    _notebook(tmp_path / "train.ipynb", "x = 1", CELL)
    output = _notebook(tmp_path / "train-out.ipynb", "x = 1", CELL)
    output.metadata["papermill"] = {"input_path": "train.ipynb", "output_path": "train-out.ipynb"}
    nbformat.write(output, tmp_path / "train-out.ipynb")
    found = _discover(tmp_path, cell_source=CELL + "\n")
    assert (found.path, found.found_by) == ((tmp_path / "train.ipynb").resolve(), "search")


def test_search_gives_up_when_ambiguous(tmp_path: Path):
    _notebook(tmp_path / "a.ipynb", CELL)
    _notebook(tmp_path / "b.ipynb", CELL)
    assert _discover(tmp_path, cell_source=CELL).found_by == "none"


def test_nothing_found(tmp_path: Path):
    found = _discover(tmp_path, cell_source="print('unsaved')")
    assert (found.path, found.found_by) == (None, "none")


def test_cell_id_matched_by_source_ignoring_trailing_whitespace(tmp_path: Path):
    nb = _notebook(tmp_path / "n.ipynb", "a = 1", CELL, "b = 2")
    assert find_cell_id(tmp_path / "n.ipynb", CELL + "   \n\n") == nb.cells[1].id


def test_cell_id_unknown_for_duplicates_or_unsaved_edits(tmp_path: Path):
    _notebook(tmp_path / "n.ipynb", CELL, CELL)
    assert find_cell_id(tmp_path / "n.ipynb", CELL) is None
    assert find_cell_id(tmp_path / "n.ipynb", "edited but not saved") is None


def test_snapshot_masks_secrets_in_sources_and_outputs(tmp_path: Path):
    nb = _notebook(tmp_path / "s.ipynb", 'token = "abc123"\nprint(token)')
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="token = 'abc123'\n")
    ]
    nbformat.write(nb, tmp_path / "s.ipynb")
    snapshot = notebook_snapshot(tmp_path / "s.ipynb")
    assert snapshot is not None and "abc123" not in snapshot
    assert json.loads(snapshot)["cells"][0]["source"] == 'token = "***"\nprint(token)'


def test_injected_parameters_read_from_history():
    history = [
        "",
        "%load_ext jupyter_mlops",
        '# Parameters\nC = 0.5\nname = "x"\nflags = [1, 2]\n',
        "C",
    ]
    assert injected_parameters(history) == {"C": 0.5, "name": "x", "flags": [1, 2]}
    assert injected_parameters(["# Parameters\nx = float('nan')\n"]) == {"x": "float('nan')"}
    assert injected_parameters(["# Parameters are below\nx = 1"]) is None
    assert injected_parameters(["C = 1"]) is None


def test_snapshot_follows_the_saved_file(tmp_path: Path):
    _notebook(tmp_path / "s.ipynb", "x = 1")
    first = notebook_snapshot(tmp_path / "s.ipynb")
    assert first is not None and "x = 1" in first
    _notebook(tmp_path / "s.ipynb", "x = 2  # saved again")
    second = notebook_snapshot(tmp_path / "s.ipynb")
    assert second is not None and "x = 2  # saved again" in second
    (tmp_path / "s.ipynb").unlink()
    assert notebook_snapshot(tmp_path / "s.ipynb") is None
