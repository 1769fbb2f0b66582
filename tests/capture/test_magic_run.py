"""``%%mlops run`` in a real IPython shell, read back from a real SQLite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import jupyter_mlops
from support.runs import artifact_text, only_run, runs_of

TRAIN_CELL = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["income", "debt_ratio", "age"])
y = pd.Series((X["income"] - X["debt_ratio"] > 0).astype(int), name="default")
C = 0.5
model = LogisticRegression(C=C).fit(X, y)
accuracy = float(model.score(X, y))
"""


def test_records_params_metrics_tags_and_lineage(shell, client):
    result = shell.run_cell(
        "%%mlops run --name baseline --params C --metrics accuracy"
        " --tag team=risk --tag stage=dev\n" + TRAIN_CELL
    )
    assert result.success
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "baseline"
    assert run.data.params["C"] == "0.5"
    assert run.data.metrics["accuracy"] == pytest.approx(shell.user_ns["accuracy"])
    tags = run.data.tags
    assert tags["team"] == "risk" and tags["stage"] == "dev"
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlops.cell.execution_count"] == str(shell.execution_count)
    assert tags["mlops.notebook.found_by"] == "none"


def test_data_inputs_carry_our_fingerprint(shell, client):
    shell.run_cell("%%mlops run --no-autolog\n" + TRAIN_CELL)
    run = only_run(client)
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"X", "y"}
    x_input = inputs["X"]
    assert x_input.dataset.digest == run.data.tags["mlops.data.X.fingerprint"]
    assert x_input.dataset.digest == jupyter_mlops.fingerprint(shell.user_ns["X"])
    assert len(x_input.dataset.digest) == 32
    assert json.loads(x_input.dataset.profile)["num_rows"] == 300
    schema = json.loads(x_input.dataset.schema)["mlflow_colspec"]
    assert [c["name"] for c in schema] == ["income", "debt_ratio", "age"]
    assert {c["type"] for c in schema} == {"double"}
    assert {t.key: t.value for t in x_input.tags}["mlflow.data.context"] == "training"


def test_artifacts_code_and_environment(shell, client):
    shell.run_cell("%%mlops run --no-autolog\nvalue = 41 + 1\n")
    run = only_run(client)
    assert artifact_text(client, run.info.run_id, "code/cell.py").startswith(
        "%%mlops run --no-autolog\n"
    )
    requirements = artifact_text(client, run.info.run_id, "environment/requirements.txt")
    assert requirements.startswith("# python 3.")
    assert "\nmlflow==" in requirements and "\npandas==" in requirements


def test_cell_runs_exactly_as_without_the_magic(shell, client):
    with capture_output() as plain:
        shell.run_cell("print('hello'); 6 * 7", store_history=True)
    with capture_output() as magic:
        result = shell.run_cell(
            "%%mlops run --no-autolog\nprint('hello')\n6 * 7", store_history=True
        )
    assert result.result == 42
    assert magic.stdout.replace(
        f"Out[{shell.execution_count - 1}]", "Out[N]"
    ) == plain.stdout.replace(f"Out[{shell.execution_count - 2}]", "Out[N]")
    assert only_run(client).info.status == "FINISHED"


def test_trailing_semicolon_hides_the_value(shell):
    result = shell.run_cell("%%mlops run --no-autolog\n6 * 7;")
    assert result.result is None


def test_exception_is_recorded_then_reraised_unchanged(shell, client):
    result = shell.run_cell(
        "%%mlops run --params alpha --metrics score\n"
        "alpha = 0.1\nraise ValueError('bad data in row 3')"
    )
    assert isinstance(result.error_in_exec, ValueError)
    assert str(result.error_in_exec) == "bad data in row 3"
    run = only_run(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.error.type"] == "ValueError"
    assert run.data.tags["mlops.error.message"] == "bad data in row 3"
    assert run.data.params["alpha"] == "0.1"  # what was defined before the failure is kept
    assert "bad data in row 3" in artifact_text(client, run.info.run_id, "error/traceback.txt")
    assert mlflow.active_run() is None


def test_keyboard_interrupt_is_killed(shell, client):
    result = shell.run_cell("%%mlops run --no-autolog\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert only_run(client).info.status == "KILLED"


def test_plain_mlflow_calls_land_on_the_run(shell, client):
    shell.run_cell(
        "%%mlops run --no-autolog\nimport mlflow\nmlflow.log_metric('manual', 3.0)\n"
        "mlflow.log_param('lr', 0.01)\nmlflow.set_tag('note', 'by hand')"
    )
    run = only_run(client)
    assert run.data.metrics["manual"] == 3.0
    assert run.data.params["lr"] == "0.01"
    assert run.data.tags["note"] == "by hand"


def test_autolog_on_by_default_and_off_with_flag(shell, client):
    shell.run_cell("%%mlops run --name auto\n" + TRAIN_CELL)
    shell.run_cell("%%mlops run --name manual --no-autolog\n" + TRAIN_CELL)
    runs = {r.info.run_name: r for r in runs_of(client)}
    assert runs["auto"].data.params.get("max_iter") == "100"  # logged by sklearn autolog
    assert "max_iter" not in runs["manual"].data.params
    # autologging is off again outside %%mlops cells: a plain fit creates no run
    shell.run_cell("model.fit(X, y)")
    assert len(runs_of(client)) == 2


def test_config_trait_turns_autolog_off(shell, client):
    shell.run_line_magic("config", "MlopsMagics.autolog = False")
    try:
        shell.run_cell("%%mlops run\n" + TRAIN_CELL)
    finally:
        shell.run_line_magic("config", "MlopsMagics.autolog = True")
    assert "max_iter" not in only_run(client).data.params


def test_missing_names_and_non_numeric_metric_warn_once_each(shell, client, capsys):
    shell.run_cell(
        "%%mlops run --no-autolog --params a,ghost --metrics label,b\na = 1\nb = 2.5\nlabel = 'x'"
    )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("jupyter-mlops: warning:")]
    assert len(lines) == 2, err
    assert "'ghost'" in lines[0] and "'label'" in lines[1]
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"a": "1"}
    assert run.data.metrics == {"b": 2.5}


def test_secrets_never_land_in_the_run(shell, client):
    secret = "ghp_" + "a1B2c3D4" * 5
    shell.run_cell(
        "%%mlops run --no-autolog --params api_token,password,n --tag db_password=hunter2\n"
        f"api_token = '{secret}'\npassword = 'hunter2'\nn = 3\n"
    )
    run = only_run(client)
    assert run.data.params == {"api_token": "***", "password": "***", "n": "3"}
    assert run.data.tags["db_password"] == "***"
    cell = artifact_text(client, run.info.run_id, "code/cell.py")
    assert secret not in cell and "hunter2" not in cell
    everything = json.dumps([run.data.params, run.data.tags, run.data.metrics])
    assert secret not in everything and "hunter2" not in everything


def test_run_left_open_by_user_becomes_parent(shell, client):
    shell.run_cell("import mlflow\nouter = mlflow.start_run(run_name='outer')")
    shell.run_cell("%%mlops run --name inner --no-autolog\nx = 1")
    assert mlflow.active_run() is not None and mlflow.active_run().info.run_name == "outer"
    mlflow.end_run()
    runs = {r.info.run_name: r for r in runs_of(client)}
    assert runs["inner"].data.tags["mlflow.parentRunId"] == runs["outer"].info.run_id
    assert runs["inner"].info.status == "FINISHED"


def test_cell_id_from_the_frontend_is_recorded(shell, client):
    shell.run_cell("%%mlops run --no-autolog\nx = 1", cell_id="5f1b3c2a-aaaa")
    assert only_run(client).data.tags["mlops.cell.id"] == "5f1b3c2a-aaaa"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("run --bogus", "unrecognized arguments: --bogus"),
        ("run --tag novalue", "--tag expects KEY=VALUE"),
        ("run --tag =x", "--tag expects KEY=VALUE"),
        ("run --params 1x", "'1x' is not one"),
        ("run --tag mlops.cell.id=x", "reserved"),
        ("nope", "unknown %mlops subcommand 'nope'"),
        ("init", "init is a line magic"),
    ],
)
def test_usage_errors_run_nothing_and_record_nothing(shell, client, line, message):
    with pytest.raises(UsageError, match=message.replace(".", r"\.")):
        shell.run_cell_magic("mlops", line, "executed = True")
    assert "executed" not in shell.user_ns
    assert runs_of(client) == []


def test_usage_error_is_one_line_without_traceback(shell, capsys):
    shell.run_cell("%%mlops run --bogus\nexecuted = True")
    out = capsys.readouterr()
    shown = (out.out + out.err).strip().splitlines()
    assert shown == ["UsageError: unrecognized arguments: --bogus"]


def test_run_as_line_magic_is_a_usage_error(shell):
    with pytest.raises(UsageError, match="run is a cell magic"):
        shell.run_line_magic("mlops", "run")


def test_syntax_error_is_shown_like_a_plain_cell_and_records_nothing(shell, client, capsys):
    result = shell.run_cell("%%mlops run\ndef broken(:\n    pass", store_history=True)
    assert isinstance(result.error_in_exec, UsageError)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "SyntaxError" in text and "def broken(:" in text
    assert "jupyter_mlops/magics" not in text  # no internal frames
    assert "UsageError: the cell has a syntax error (above); nothing was run or recorded" in text
    assert runs_of(client) == []


def test_storage_failure_mid_record_still_ends_the_run(shell, client, capsys):
    experiment = client.get_experiment_by_name("tests")
    artifacts = Path(experiment.artifact_location.removeprefix("file://"))
    artifacts.parent.mkdir(parents=True, exist_ok=True)
    artifacts.write_text("not a folder: artifact writes will fail")
    result = shell.run_cell("%%mlops run --no-autolog --metrics m\nm = 1.0")
    assert result.success  # the user's cell is not failed by our recording problem
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"m": 1.0}  # logged before the artifact upload failed
    assert "was only partly recorded" in capsys.readouterr().err


def test_param_already_logged_with_another_value_keeps_the_first_and_warns(shell, client, capsys):
    cell = TRAIN_CELL.replace("LogisticRegression(C=C)", "LogisticRegression(C=1.0)")
    shell.run_cell("%%mlops run --params C --metrics accuracy\n" + cell)
    run = only_run(client)
    assert run.data.params["C"] == "1.0"  # autolog's value, logged first, is kept
    assert "accuracy" in run.data.metrics  # the rest of the batch was still written
    assert (
        "param 'C' was already logged as '1.0'; kept that value, not '0.5'"
        in capsys.readouterr().err
    )


def test_chosen_params_and_metrics_are_named_and_shown_first(shell, client):
    shell.run_cell("%%mlops run --params C --metrics accuracy\n" + TRAIN_CELL)
    run = only_run(client)
    assert run.data.tags["mlops.params.keys"] == "C"
    assert run.data.tags["mlops.metrics.keys"] == "accuracy"
    assert len(run.data.params) > 5  # autolog logged the estimator's params too
    row = repr(shell.run_line_magic("mlops", "runs")).splitlines()[-1]
    assert f"C=0.5 (+{len(run.data.params) - 1} more)" in row
    assert "accuracy=" in row.split("C=0.5", 1)[1]


def test_papermill_injected_parameters_are_recorded_without_naming_them(shell, client):
    shell.run_cell("alpha = 0.1\nmodel_name = 'default'", store_history=True)  # `parameters` cell
    # what papermill injects after the cell tagged `parameters`:
    shell.run_cell('# Parameters\nalpha = 0.7\nmodel_name = "gbm"\n', store_history=True)
    shell.run_cell("%%mlops run --no-autolog --params depth\ndepth = 3", store_history=True)
    run = only_run(client)
    assert run.data.params == {"alpha": "0.7", "model_name": "gbm", "depth": "3"}
    assert run.data.tags["mlops.params.keys"] == "alpha,model_name,depth"


def test_execution_count_is_the_cells_in_number(shell, client):
    result = shell.run_cell("%%mlops run --no-autolog\nx = 1", store_history=True)
    assert only_run(client).data.tags["mlops.cell.execution_count"] == str(result.execution_count)
    assert only_run(client).info.run_name == f"cell{result.execution_count}"


def test_dataset_source_names_no_run(shell, client):
    shell.run_cell(
        "%%mlops run --no-autolog\nimport pandas as pd\nframe = pd.DataFrame({'a': [1]})"
    )
    (data,) = only_run(client).inputs.dataset_inputs
    assert json.loads(data.dataset.source) == {
        "tags": {"mlops.fingerprint.format": "jupyter-mlops-fingerprint/1"}
    }
