"""The job contract and typed parameters, without kernels: what is inferred from a notebook's
``parameters`` cell, what ``jupyter-mlops job init`` writes (and never breaks), what ``job
show`` prints, and the errors ``resolve_values`` gives before any kernel would start.

Notebooks are real files written with nbformat; the CLI is the real click command (in
process through ``CliRunner``; once as the installed console script).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner, Result
from nbformat import v4

from jupyter_mlops.cli import main
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.contract import (
    CONTRACT_SCHEMA,
    METADATA_KEY,
    job_contract,
    write_notebook,
)
from jupyter_mlops.core.jobs.parameters.cell import parse_parameter_cell
from jupyter_mlops.core.jobs.parameters.declare import parse_declaration
from jupyter_mlops.core.jobs.parameters.values import ParameterSpec, resolve_values

BIN = Path(sys.executable).parent

# Every type the contract knows, as someone would write it in a parameters cell.
TYPED_CELL = """\
import datetime
from typing import Optional

import numpy as np

n = 3  # number of folds
rate = 0.5
ratio: float = 1  # an int default, declared float
name = "gini"  # metric # with a hash inside the comment
flag = False
cols = ["a", "b"]
pair = (1, 2)
opts = {"depth": 4}
start = datetime.date(2024, 1, 31)  # first day
stamp = datetime.datetime(2024, 1, 31, 8, 30)
limit: Optional[int] = None  # no limit by default
cap: int | None = 10
alpha = np.pi
anything = None
"""


def _notebook(path: Path, *cells: Any, minor: int = 5, metadata: dict | None = None) -> Path:
    """Write a notebook whose cells are NotebookNodes, or code sources (the first source
    tagged ``parameters`` when it is a (source, "parameters") pair)."""
    notebook = v4.new_notebook()
    notebook.nbformat_minor = minor
    for cell in cells:
        if isinstance(cell, tuple):
            source, tag = cell
            cell = v4.new_code_cell(source, metadata={"tags": [tag]})
        elif isinstance(cell, str):
            cell = v4.new_code_cell(cell)
        if minor < 5:
            cell.pop("id", None)
        notebook.cells.append(cell)
    notebook.metadata.update(metadata or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _namespace(source: str) -> dict[str, Any]:
    """What a kernel would hold after running ``source``."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "parameters-cell", "exec"), namespace)
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def _leftovers(folder: Path) -> list[str]:
    """Temporary files an interrupted atomic write would leave behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- inference from the parameters cell --------------------------------------------------


def test_types_come_from_annotations_defaults_and_comments() -> None:
    specs = {s.name: s for s in parse_parameter_cell(TYPED_CELL)}

    assert list(specs) == [
        *("n", "rate", "ratio", "name", "flag", "cols", "pair", "opts", "start", "stamp"),
        *("limit", "cap", "alpha", "anything"),
    ]  # imports are skipped, as papermill skips them
    kinds = {name: (s.type, s.nullable) for name, s in specs.items()}
    assert kinds == {
        "n": ("int", False),
        "rate": ("float", False),
        "ratio": ("float", False),
        "name": ("str", False),
        "flag": ("bool", False),
        "cols": ("list", False),
        "pair": ("list", False),
        "opts": ("dict", False),
        "start": ("date", False),
        "stamp": ("datetime", False),
        "limit": ("int", True),
        "cap": ("int", True),
        "alpha": ("any", False),
        "anything": ("any", False),
    }
    # defaults in JSON form, dates as ISO text; Python values on demand
    assert specs["start"].default == "2024-01-31"
    assert specs["start"].python_default() == dt.date(2024, 1, 31)
    assert specs["stamp"].python_default() == dt.datetime(2024, 1, 31, 8, 30)
    assert specs["pair"].default == [1, 2]
    assert specs["ratio"].python_default() == 1.0
    assert isinstance(specs["ratio"].python_default(), float)
    assert specs["limit"].default is None
    assert specs["cap"].default == 10
    # a default the notebook computes is kept as its source, with no value of ours
    assert specs["alpha"].expression == "np.pi"
    assert specs["alpha"].default is None
    assert specs["anything"].expression is None
    # trailing comments are the help text
    assert specs["n"].help == "number of folds"
    assert specs["name"].help == "metric # with a hash inside the comment"
    assert specs["limit"].help == "no limit by default"
    assert specs["rate"].help == ""


def test_a_later_assignment_of_the_same_name_wins() -> None:
    (spec,) = parse_parameter_cell("C = 1\nC = 0.5  # second thoughts\n")
    assert (spec.type, spec.default, spec.help) == ("float", 0.5, "second thoughts")


def test_a_cell_that_does_not_parse_declares_nothing() -> None:
    assert parse_parameter_cell("C = (1\n") == []


def test_a_papermill_notebook_without_metadata_gets_an_inferred_contract(tmp_path: Path) -> None:
    # written for papermill by someone else: nbformat 4.4 (no cell ids), no kernelspec,
    # no jupyter_mlops metadata
    path = _notebook(
        tmp_path / "monthly_report.ipynb",
        v4.new_markdown_cell("# Monthly report"),
        (TYPED_CELL, "parameters"),
        "print(n)",
        minor=4,
    )
    assert "jupyter_mlops" not in path.read_text("utf-8")

    contract = job_contract(path)

    assert not contract.declared
    assert contract.name == "monthly-report"
    assert contract.parameters_cell is None  # no ids before nbformat 4.5
    assert contract.model is None and contract.experiment is None
    assert [p.name for p in contract.parameters] == [
        p.name for p in parse_parameter_cell(TYPED_CELL)
    ]
    assert contract.notes == ()


def test_only_the_cell_tagged_parameters_counts(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "nb.ipynb", "x = 1", ("C = 0.5", "parameters"), ("seed = 1", "parameters")
    )
    assert [p.name for p in job_contract(path).parameters] == ["C"]


# -- parse_declaration: job init --param NAME[:TYPE]=DEFAULT -----------------------------


@pytest.mark.parametrize(
    ("text", "kind", "default"),
    [
        ("C:float=1", "float", 1.0),
        ("C=0.5", "float", 0.5),
        ("seed=42", "int", 42),
        ("seed:int=42", "int", 42),
        ("metric=gini", "str", "gini"),  # a bare word is text
        ("metric:str=0.5", "str", "0.5"),  # declared text stays text
        ("flag:bool=yes", "bool", True),
        ("flag=False", "bool", False),
        ('cols=["a", "b"]', "list", ["a", "b"]),
        ('opts:dict={"a": 1}', "dict", {"a": 1}),
        ("start:date=2024-01-31", "date", "2024-01-31"),
        ("at:datetime=2024-01-31T08:00", "datetime", "2024-01-31T08:00:00"),
    ],
)
def test_parse_declaration(text: str, kind: str, default: Any) -> None:
    spec = parse_declaration(text)
    assert (spec.type, spec.default) == (kind, default)
    assert type(spec.default) is type(default)


# -- job init ------------------------------------------------------------------------------


def _outputs() -> list[Any]:
    return [
        v4.new_output("stream", name="stdout", text="fitted\n"),
        v4.new_output(
            "execute_result",
            data={"text/plain": "0.91", "text/html": "<b>0.91</b>"},
            metadata={"isolated": True},
            execution_count=4,
        ),
        v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<F>"}),
        v4.new_output("error", ename="ValueError", evalue="x", traceback=["tb line"]),
    ]


@pytest.fixture
def analysis(tmp_path: Path) -> Path:
    """An executed notebook (outputs, ids, kernelspec) with a plain-assignment cell that is
    not tagged ``parameters``."""
    return _notebook(
        tmp_path / "credit_model.ipynb",
        v4.new_markdown_cell("# Credit model\nSome *notes*."),
        v4.new_code_cell("import numpy as np", execution_count=1),
        v4.new_code_cell("print('set-up')", execution_count=2, outputs=_outputs()[:1]),
        v4.new_code_cell(
            "C = 1.0  # inverse regularisation strength\nseed = 42\n",
            execution_count=3,
            outputs=[],
        ),
        v4.new_code_cell("model = fit(C, seed)", execution_count=4, outputs=_outputs()),
        v4.new_raw_cell("raw text"),
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )


def test_job_init_adopts_the_first_plain_assignment_cell(analysis: Path) -> None:
    before = _json(analysis)

    result = _cli(
        "job",
        "init",
        str(analysis),
        "--name",
        "credit-pd",
        "--model",
        "credit-risk",
        "--experiment",
        "credit",
        "--param",
        "seed:int=7",
    )

    assert result.exit_code == 0, result.output
    assert "- tagged cell 4 (plain assignments) as the parameters cell" in result.output
    assert "- set parameter seed (int) = 7" in result.output
    after = _json(analysis)
    adopted = after["cells"][3]
    assert adopted["metadata"]["tags"] == ["parameters"]
    assert "".join(adopted["source"]).splitlines() == [
        "C = 1.0  # inverse regularisation strength",  # untouched, comment and all
        "seed: int = 7",
    ]
    # everything else is exactly as it was: ids, outputs, counts, other cells, metadata
    assert len(after["cells"]) == len(before["cells"])
    for index, (old, new) in enumerate(zip(before["cells"], after["cells"], strict=True)):
        if index == 3:
            for key in ("source", "metadata"):
                old.pop(key), new.pop(key)
        assert new == old, f"cell {index} changed"
    assert (after["nbformat"], after["nbformat_minor"]) == (4, 5)
    job = after["metadata"].pop(METADATA_KEY)["job"]
    assert after["metadata"] == before["metadata"]
    assert job == {
        "schema": CONTRACT_SCHEMA,
        "name": "credit-pd",
        "model": "credit-risk",
        "experiment": "credit",
        "parameters_cell": adopted["id"],
        "parameters": [
            {
                "name": "C",
                "type": "float",
                "default": 1.0,
                "help": "inverse regularisation strength",
            },
            {"name": "seed", "type": "int", "default": 7},
        ],
    }
    contract = job_contract(analysis)
    assert contract.declared and contract.notes == ()
    nbformat.validate(nbformat.read(str(analysis), as_version=4))


def test_job_init_creates_a_parameters_cell_from_params(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "score.ipynb",
        v4.new_markdown_cell("# Score"),
        v4.new_code_cell("import pandas as pd", execution_count=1),
        v4.new_code_cell("print(C, cols, start)", execution_count=2, outputs=_outputs()[:1]),
    )
    before = _json(path)

    result = _cli(
        "job",
        "init",
        str(path),
        "--param",
        "C:float=0.5",
        "--param",
        'cols=["a", "b"]',
        "--param",
        "start:date=2024-01-31",
    )

    assert result.exit_code == 0, result.output
    assert "- created a parameters cell at position 2" in result.output
    after = _json(path)
    assert len(after["cells"]) == 4
    created = after["cells"][1]  # before the first code cell
    assert created["cell_type"] == "code"
    assert created["metadata"] == {"tags": ["parameters"]}
    assert created["outputs"] == [] and created["execution_count"] is None
    assert created["id"] not in {c["id"] for c in before["cells"]}
    namespace = _namespace("".join(created["source"]))
    assert namespace["C"] == 0.5
    assert namespace["cols"] == ["a", "b"]
    assert namespace["start"] == dt.date(2024, 1, 31)
    assert [before["cells"][0], *before["cells"][1:]] == [after["cells"][0], *after["cells"][2:]]
    contract = job_contract(path)
    assert [(p.name, p.type) for p in contract.parameters] == [
        ("C", "float"),
        ("cols", "list"),
        ("start", "date"),
    ]
    assert contract.name == "score" and contract.parameters_cell == created["id"]


def test_job_init_on_an_old_notebook_adds_a_cell_without_an_id(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "old.ipynb", v4.new_markdown_cell("# Old"), "print(1)", minor=4)

    result = _cli("job", "init", str(path), "--param", "C=0.5")

    assert result.exit_code == 0, result.output
    after = _json(path)
    assert after["nbformat_minor"] == 4
    assert ["id" in c for c in after["cells"]] == [False, False, False]
    assert after["cells"][1]["metadata"]["tags"] == ["parameters"]
    nbformat.validate(nbformat.read(str(path), as_version=4))


def test_job_init_updates_a_parameter_line_and_keeps_its_comment(tmp_path: Path) -> None:
    cell = 'C: float = 1.0  # inverse regularisation strength\ncols = [\n    "a",\n]\nseed = 42\n'
    path = _notebook(tmp_path / "nb.ipynb", (cell, "parameters"), "print(C)")

    result = _cli("job", "init", str(path), "--param", "C:float=0.25", "--param", 'cols=["z"]')

    assert result.exit_code == 0, result.output
    source = "".join(_json(path)["cells"][0]["source"])
    assert source.splitlines() == [
        "C: float = 0.25  # inverse regularisation strength",
        "cols: list = ['z']",  # the three lines of the old value became one
        "seed = 42",
    ]
    assert _namespace(source) == {"C": 0.25, "cols": ["z"], "seed": 42}


def test_job_init_without_params_or_parameters_cell_declares_no_parameters(
    tmp_path: Path,
) -> None:
    path = _notebook(tmp_path / "plain.ipynb", "print(1)")

    result = _cli("job", "init", str(path))

    assert result.exit_code == 0, result.output
    assert "no parameters cell and no --param: the job takes no parameters" in result.output
    after = _json(path)
    assert len(after["cells"]) == 1
    assert after["metadata"][METADATA_KEY]["job"]["parameters"] == []


def test_job_init_again_keeps_what_it_is_not_told(analysis: Path) -> None:
    first = _cli("job", "init", str(analysis), "--name", "pd", "--model", "credit-risk")
    assert first.exit_code == 0, first.output

    again = _cli("job", "init", str(analysis), "--experiment", "credit")

    assert again.exit_code == 0, again.output
    job = _json(analysis)["metadata"][METADATA_KEY]["job"]
    assert (job["name"], job["model"], job["experiment"]) == ("pd", "credit-risk", "credit")
    assert _json(analysis)["cells"][3]["metadata"]["tags"] == ["parameters"]  # not tagged twice


def test_changing_a_default_without_a_type_keeps_the_type(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "nb.ipynb", ("C = 1.0  # strength", "parameters"))

    assert _cli("job", "init", str(path), "--param", "C=2").exit_code == 0

    spec = job_contract(path).parameter("C")
    assert spec is not None and (spec.type, spec.default) == ("float", 2.0)
    assert "".join(_json(path)["cells"][0]["source"]) == "C: float = 2.0  # strength"


def test_updating_one_of_two_parameters_on_a_line_keeps_the_other(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "nb.ipynb", ("n = 1; m = 2", "parameters"))

    assert _cli("job", "init", str(path), "--param", "m=3").exit_code == 0

    source = "".join(_json(path)["cells"][0]["source"])
    assert _namespace(source) == {"n": 1, "m": 3}


def test_a_comment_on_the_first_line_of_a_long_value_is_kept(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "nb.ipynb", ('cols = [  # the columns\n    "a",\n]', "parameters"))

    assert _cli("job", "init", str(path), "--param", 'cols=["b"]').exit_code == 0

    assert "# the columns" in "".join(_json(path)["cells"][0]["source"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "x:complex=1"], "--param x: unknown type 'complex'"),
        (["--param", "1x=3"], "--param expects NAME[:TYPE]=DEFAULT"),
        (["--param", "C:int=abc"], "parameter 'C' is int: 'abc' does not convert"),
        (["--param", "start:date=2024-02-30"], "parameter 'start' is date: '2024-02-30'"),
        (["--param", "C"], "--param expects NAME[:TYPE]=DEFAULT"),
        (["--name", "a/b"], "job name 'a/b' must be non-empty, without '/'"),
        (["--model", " m"], "model name ' m' must be non-empty"),
    ],
)
def test_a_bad_job_init_exits_2_and_leaves_the_file_alone(
    analysis: Path, args: list[str], message: str
) -> None:
    content, mtime = analysis.read_bytes(), analysis.stat().st_mtime_ns

    result = _cli("job", "init", str(analysis), *args)

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert analysis.read_bytes() == content
    assert analysis.stat().st_mtime_ns == mtime
    assert _leftovers(analysis.parent) == []


def test_a_parameters_cell_that_does_not_parse_is_not_rewritten(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "nb.ipynb", ("C = (1.0\n", "parameters"))
    content = path.read_bytes()

    result = _cli("job", "init", str(path), "--param", "C=2.0")

    assert result.exit_code == 2
    assert "the parameters cell does not parse" in result.output
    assert path.read_bytes() == content


def test_job_init_on_a_missing_notebook_exits_2(tmp_path: Path) -> None:
    result = _cli("job", "init", str(tmp_path / "missing.ipynb"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_job_init_keeps_the_file_permissions(analysis: Path) -> None:
    analysis.chmod(0o640)
    assert _cli("job", "init", str(analysis)).exit_code == 0
    assert analysis.stat().st_mode & 0o777 == 0o640


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs RLIMIT_FSIZE")
def test_a_failed_write_leaves_the_original_notebook_intact(analysis: Path) -> None:
    """The process may not write a file larger than the notebook is now, so the rewritten
    notebook (it gains the contract) cannot be written: a real write failure, even as root."""
    import resource
    import signal

    content = analysis.read_bytes()

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(content), len(content)))

    result = subprocess.run(
        [str(BIN / "jupyter-mlops"), "job", "init", str(analysis), "--model", "m"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit_file_size,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"jupyter-mlops: error: cannot write {analysis}: [Errno 27] File too large"
    ]
    assert analysis.read_bytes() == content
    assert _leftovers(analysis.parent) == []


def test_a_notebook_that_cannot_be_serialised_is_refused_cleanly(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "nb.ipynb", "x = 1")
    content = path.read_bytes()
    notebook = nbformat.read(str(path), as_version=4)
    notebook.metadata["exported"] = dt.date(2024, 1, 31)  # valid per schema, not JSON

    with pytest.raises(MlopsError):
        write_notebook(notebook, path)

    assert path.read_bytes() == content
    assert _leftovers(tmp_path) == []


# -- job show ------------------------------------------------------------------------------


def test_job_show_inferred_and_declared(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "train_model.ipynb",
        (
            "import numpy as np\n"
            "C = 0.5  # inverse regularisation strength\n"
            "limit: int | None = None\n"
            "alpha = np.pi\n",
            "parameters",
        ),
    )

    inferred = _cli("job", "show", str(path))

    assert inferred.exit_code == 0, inferred.output
    assert inferred.output.splitlines() == [
        "job         : train-model  (inferred from the parameters cell: no job contract)",
        "experiment  : (the notebook default)",
        "model       : -",
        "parameters  : 3",
        "  name   type   default  help",
        "  C      float  0.5      inverse regularisation strength",
        "  limit  int?   null",
        "  alpha  any    = np.pi",
    ]
    shown = json.loads(_cli("job", "show", str(path), "--json").output)
    assert shown["declared"] is False
    assert shown["schema"] == CONTRACT_SCHEMA
    assert shown["parameters"][1] == {
        "name": "limit",
        "type": "int",
        "default": None,
        "nullable": True,
    }
    assert shown["parameters"][2] == {
        "name": "alpha",
        "type": "any",
        "default": None,
        "expression": "np.pi",
    }

    assert _cli("job", "init", str(path), "--name", "pd", "--model", "credit-risk").exit_code == 0
    declared = _cli("job", "show", str(path))
    assert "job         : pd  (declared in the notebook)" in declared.output
    assert "model       : credit-risk" in declared.output
    as_json = json.loads(_cli("job", "show", str(path), "--json").output)
    assert as_json["declared"] is True
    assert as_json["name"] == "pd" and as_json["model"] == "credit-risk"
    assert as_json == {
        **_json(path)["metadata"][METADATA_KEY]["job"],
        "declared": True,
        "warnings": [],
        "reassignments": [],
    }


def test_job_show_notes_where_contract_and_cell_disagree(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "nb.ipynb", ("C = 0.5\nseed = 1\n", "parameters"))
    assert _cli("job", "init", str(path)).exit_code == 0
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[0].source = "C = 0.25\nfolds = 5\n"  # edited by hand afterwards
    nbformat.write(notebook, str(path))

    shown = _cli("job", "show", str(path))

    assert shown.exit_code == 0, shown.output
    assert "parameter 'folds' is in the parameters cell but not in the contract" in shown.output
    assert "parameter 'seed' is in the contract but not in the parameters cell" in shown.output
    contract = job_contract(path)
    assert [(p.name, p.default) for p in contract.parameters] == [("C", 0.25), ("folds", 5)]


def test_job_show_on_a_malformed_contract_exits_2(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "nb.ipynb",
        ("C = 0.5", "parameters"),
        metadata={METADATA_KEY: {"job": {"name": "x", "parameters": [{"name": "C"}]}}},
    )
    result = _cli("job", "show", str(path))
    assert result.exit_code == 2
    assert "needs a name and a type" in result.output


def test_job_show_on_something_that_is_not_a_notebook_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text("{not json", "utf-8")
    result = _cli("job", "show", str(path))
    assert result.exit_code == 2
    assert "is not a readable notebook" in result.output


# -- resolve_values: typed values, or an error naming parameter, type and value ----------

SPECS = tuple(parse_parameter_cell(TYPED_CELL))


def test_defaults_then_file_then_command_line() -> None:
    resolved = resolve_values(
        SPECS,
        from_file={"n": 5, "rate": 1, "start": "2024-03-01", "limit": None, "name": "f"},
        from_command_line=[("n", "7"), ("flag", "yes"), ("cols", "['x']"), ("alpha", "3.5")],
    )

    values = resolved.values
    assert values["n"] == 7  # -p wins over the file
    assert values["rate"] == 1.0 and isinstance(values["rate"], float)
    assert values["start"] == dt.date(2024, 3, 1)
    assert values["flag"] is True
    assert values["cols"] == ["x"]
    assert values["name"] == "f"
    assert values["limit"] is None
    assert values["alpha"] == 3.5  # an `any` parameter takes a literal
    assert values["stamp"] == dt.datetime(2024, 1, 31, 8, 30)  # its default
    assert resolved.overridden == ("n", "rate", "start", "limit", "name", "flag", "cols", "alpha")


def test_a_computed_default_is_passed_only_when_set() -> None:
    assert "alpha" not in resolve_values(SPECS).values
    assert resolve_values(SPECS, from_command_line=[("alpha", "pi")]).values["alpha"] == "pi"


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(MlopsError) as raised:
        resolve_values(SPECS, from_command_line=[("n", "1"), ("folds", "3")])

    assert raised.value.code is ErrorCode.USAGE
    message = str(raised.value)
    assert message.startswith("unknown parameter 'folds'")
    assert message.endswith(
        "; valid parameters: n, rate, ratio, name, flag, cols, pair, opts, start, stamp, limit, "
        "cap, alpha, anything"
    )
    with pytest.raises(MlopsError, match="unknown parameter 'folds'"):
        resolve_values(SPECS, from_file={"folds": 3})
    with pytest.raises(MlopsError, match="valid parameters: none: the notebook has no param"):
        resolve_values((), from_command_line=[("n", "1")])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("n", "abc", "parameter 'n' is int: 'abc' does not convert (expected a whole number"),
        ("n", "1.5", "parameter 'n' is int: '1.5' does not convert"),
        ("rate", "fast", "parameter 'rate' is float: 'fast' does not convert (expected a number"),
        ("flag", "maybe", "parameter 'flag' is bool: 'maybe' does not convert (expected true"),
        ("start", "2024-02-30", "parameter 'start' is date: '2024-02-30' does not convert"),
        ("start", "31/01/2024", "parameter 'start' is date: '31/01/2024' does not convert"),
        ("stamp", "noon", "parameter 'stamp' is datetime: 'noon' does not convert"),
        ("cols", "a,b", "parameter 'cols' is list: 'a,b' does not convert (expected a list"),
        ("cols", '{"a": 1}', "parameter 'cols' is list: '{\"a\": 1}' does not convert"),
        ("opts", "[1]", "parameter 'opts' is dict: '[1]' does not convert (expected a mapping"),
        ("n", "none", "parameter 'n' is int: 'none' does not convert"),
        ("limit", "lots", "(expected a whole number such as 42 or null)"),
    ],
)
def test_a_bad_command_line_value_names_parameter_type_and_value(
    name: str, text: str, message: str
) -> None:
    with pytest.raises(MlopsError) as raised:
        resolve_values(SPECS, from_command_line=[(name, text)])

    assert raised.value.code is ErrorCode.USAGE
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("n", 1.5, "parameter 'n' is int: 1.5 does not convert"),
        ("n", True, "parameter 'n' is int: true does not convert"),
        ("flag", 1, "parameter 'flag' is bool: 1 does not convert"),
        ("rate", None, "parameter 'rate' is float: null does not convert"),
        ("cols", {"a": 1}, "parameter 'cols' is list: {\"a\": 1} does not convert"),
        ("start", dt.datetime(2024, 1, 1, 8), "parameter 'start' is date: 2024-01-01T08:00:00"),
        ("name", 3, "parameter 'name' is str: 3 does not convert (expected text (quote it"),
    ],
)
def test_a_bad_file_value_names_parameter_type_and_value(
    name: str, value: Any, message: str
) -> None:
    with pytest.raises(MlopsError) as raised:
        resolve_values(SPECS, from_file={name: value})

    assert raised.value.code is ErrorCode.USAGE
    assert message in str(raised.value)


def test_nullable_parameters_take_null() -> None:
    values = resolve_values(
        SPECS, from_command_line=[("limit", "null"), ("cap", "None"), ("anything", "none")]
    ).values
    assert (values["limit"], values["cap"], values["anything"]) == (None, None, None)
    assert resolve_values(SPECS, from_command_line=[("limit", "12")]).values["limit"] == 12


def test_a_stored_spec_round_trips() -> None:
    for spec in SPECS:
        assert ParameterSpec.from_dict(spec.to_dict()) == spec
