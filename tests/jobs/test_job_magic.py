"""``%mlops job``: the notebook makes itself a job, from a real IPython shell."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError


def _notebook(path: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# scoring"),
        nbformat.v4.new_code_cell("C = 1.0  # regularisation\nseed = 7"),
        nbformat.v4.new_code_cell("print(C)", execution_count=3),
    ]
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="1.0\n")]
    nbformat.write(notebook, str(path))
    return path


def test_job_magic_writes_the_contract_into_this_notebook(shell, tmp_path: Path, capsys) -> None:
    notebook = _notebook(tmp_path / "scoring.ipynb")
    before = nbformat.read(str(notebook), as_version=4)
    shell.run_line_magic("mlops", f"init --notebook {notebook}")

    shell.run_line_magic(
        "mlops", "job --name nightly --param C:float=0.5 --param when:date=2024-01-31 --model pd"
    )

    printed = capsys.readouterr().out
    assert "tagged cell 2 (plain assignments) as the parameters cell" in printed
    assert "Reload Notebook from Disk" in printed
    after = nbformat.read(str(notebook), as_version=4)
    contract = after.metadata["jupyter_mlops"]["job"]
    assert contract["name"] == "nightly" and contract["model"] == "pd"
    assert [(p["name"], p["type"], p["default"]) for p in contract["parameters"]] == [
        ("C", "float", 0.5),
        ("seed", "int", 7),
        ("when", "date", "2024-01-31"),
    ]
    assert after.cells[1].metadata["tags"] == ["parameters"]
    assert "# regularisation" in after.cells[1].source  # the comment survives the rewrite
    # Other cells keep their ids and outputs.
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    assert after.cells[2].outputs == before.cells[2].outputs


def test_job_magic_with_a_bad_parameter_is_one_line_and_writes_nothing(
    shell, tmp_path: Path
) -> None:
    notebook = _notebook(tmp_path / "scoring.ipynb")
    shell.run_line_magic("mlops", f"init --notebook {notebook}")
    original = notebook.read_bytes()

    with pytest.raises(UsageError, match=r"--param C: unknown type 'complex'"):
        shell.run_line_magic("mlops", "job --param C:complex=1")
    with pytest.raises(UsageError, match=r"parameter 'C' is float: 'abc' does not convert"):
        shell.run_line_magic("mlops", "job --param C:float=abc")

    assert notebook.read_bytes() == original
    assert "jupyter_mlops" not in json.loads(original)["metadata"]
