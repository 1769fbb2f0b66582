"""``%mlops register`` and ``jupyter_mlops.register``: a real shell, a real SQLite registry."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import jupyter_mlops
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.monitoring.profile import profile_data
from jupyter_mlops.core.registry.alias_ledger import ledger_entries
from support.registry import DATA_CELL, REGISTER_LINE, aliases, cli, fit_cell, run_ok
from support.runs import artifact_text, only_run, runs_of


def assert_nothing_written(client: MlflowClient) -> None:
    """No run, no logged model and no registered model exist in the test's store."""
    experiment = client.get_experiment_by_name("tests")
    assert experiment is not None
    assert runs_of(client) == []
    assert client.search_registered_models() == []
    assert list(client.search_logged_models(experiment_ids=[experiment.experiment_id])) == []


def test_register_logs_into_the_run_that_fitted_the_variable(shell, client, capsys):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5), cell_id="fit-cell-1")
    trained = only_run(client)
    run_ok(shell, REGISTER_LINE, cell_id="register-cell")

    shown = capsys.readouterr().out
    assert f"Registered 'credit-risk' version 1 from run {trained.info.run_id[:12]}" in shown
    assert "alias 'champion': nothing -> version 1" in shown
    after = only_run(client)  # no extra run: the model went into the run that fitted it
    assert after.info.run_id == trained.info.run_id
    assert after.info.status == "FINISHED"
    assert after.info.end_time == trained.info.end_time  # the run was not reopened

    version = client.get_model_version("credit-risk", "1")
    assert version.run_id == trained.info.run_id
    [output] = after.outputs.model_outputs  # the model is an output of that run
    assert client.get_logged_model(output.model_id).artifact_location == version.source
    tags = version.tags
    ns = shell.user_ns
    assert tags["mlops.source.run_id"] == trained.info.run_id
    assert tags["mlops.cell.id"] == "fit-cell-1"  # the cell that fitted it, not the register one
    assert tags["mlops.data.X_train.fingerprint"] == jupyter_mlops.fingerprint(ns["X_train"])
    assert tags["mlops.data.y_train.fingerprint"] == jupyter_mlops.fingerprint(ns["y_train"])
    # a snapshot of the run's params and metrics (the shared shell's history may hold
    # parameters another test injected the papermill way, hence no exact dict here)
    assert json.loads(tags["mlops.params"]) == after.data.params
    assert json.loads(tags["mlops.params"])["C"] == "0.5"
    assert json.loads(tags["mlops.metrics"]) == after.data.metrics == {"acc": ns["acc"]}
    assert tags["mlops.reference.profiles"] == (
        "reference/X_train.profile.json,reference/y_train.profile.json"
    )
    assert "mlops.notebook.path" not in tags  # the fixture's shell has no notebook

    registered = client.get_registered_model("credit-risk")
    assert registered.tags["mlops.owner"] == "Retail risk team"
    assert registered.tags["mlops.purpose"] == "retail credit scoring"
    assert registered.tags["mlops.risk_tier"] == "2"
    assert aliases(client, "credit-risk") == {"champion": "1"}
    [entry] = ledger_entries(client, "credit-risk")
    assert (entry.alias, entry.from_version, entry.to_version, entry.action) == (
        "champion",
        None,
        "1",
        "register",
    )


def test_profile_signature_and_plain_mlflow_predictions(shell, client, tracking_uri):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    run_ok(shell, REGISTER_LINE)
    run_id = only_run(client).info.run_id
    ns = shell.user_ns

    profile = json.loads(artifact_text(client, run_id, "reference/X_train.profile.json"))
    assert profile["format"] == "jupyter-mlops-profile/1"
    assert profile["dataset"] == "X_train"
    assert profile["rows"] == 240
    assert profile["fingerprint"] == jupyter_mlops.fingerprint(ns["X_train"])
    assert {name: c["kind"] for name, c in profile["columns"].items()} == {
        "income": "numeric",
        "age": "numeric",
        "region": "categorical",
    }
    assert profile == json.loads(json.dumps(profile_data("X_train", ns["X_train"])))
    label = json.loads(artifact_text(client, run_id, "reference/y_train.profile.json"))
    assert list(label["columns"]) == ["default"]

    mlflow.set_tracking_uri(tracking_uri)
    info = mlflow.models.get_model_info("models:/credit-risk@champion")
    assert info.flavors.keys() >= {"sklearn", "python_function"}
    assert info.signature is not None
    assert info.signature.inputs.input_names() == ["income", "age", "region"]
    assert info.saved_input_example_info is not None

    loaded = mlflow.pyfunc.load_model("models:/credit-risk@champion")
    train = ns["X_train"]
    shifted = train.assign(income=train["income"] * 1.2, region=train["region"][::-1].to_numpy())
    for frame in (train, shifted):
        expected = ns["model"].predict(frame)
        np.testing.assert_array_equal(np.asarray(loaded.predict(frame)), expected)
    assert len(set(ns["model"].predict(shifted))) == 2  # a meaningful comparison, not constant


def test_later_versions_keep_inventory_fields_unless_named_and_move_the_alias(
    shell, client, tracking_uri
):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    run_ok(shell, REGISTER_LINE)
    run_ok(shell, fit_cell(2.0))
    second = runs_of(client)[0]
    run_ok(
        shell,
        '%mlops register model --name credit-risk --risk-tier 1 --alias champion --reason "recall"',
    )

    registered = client.get_registered_model("credit-risk")
    assert registered.tags["mlops.owner"] == "Retail risk team"  # kept from version 1
    assert registered.tags["mlops.purpose"] == "retail credit scoring"
    assert registered.tags["mlops.risk_tier"] == "1"  # updated explicitly
    assert aliases(client, "credit-risk") == {"champion": "2"}
    version = client.get_model_version("credit-risk", "2")
    assert version.tags["mlops.source.run_id"] == second.info.run_id
    assert json.loads(version.tags["mlops.params"])["C"] == "2.0"
    moves = [
        (e.from_version, e.to_version, e.reason) for e in ledger_entries(client, "credit-risk")
    ]
    assert moves == [(None, "1", "registered version 1"), ("1", "2", "recall")]

    rolled = cli("rollback", "credit-risk", "--reason", "drift", "--tracking-uri", tracking_uri)
    assert rolled.exit_code == 0, rolled.stderr
    assert aliases(client, "credit-risk") == {"champion": "1"}
    last = ledger_entries(client, "credit-risk")[-1]
    assert (last.action, last.from_version, last.to_version) == ("rollback", "2", "1")


def test_source_run_is_the_latest_that_assigned_or_fitted_the_variable(shell, client):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    run_ok(
        shell,
        "%%mlops run --no-autolog\nmodel.set_params(clf__C=3.0)\nmodel.fit(X_train, y_train)",
    )
    run_ok(shell, "%%mlops run --no-autolog\nother = 1")  # later, but did not touch `model`
    run_ok(shell, "alias_of_model = model")  # not a recorded run
    refit, *_ = [r for r in runs_of(client) if "other" not in r.data.tags["mlops.cell.produced"]]

    run_ok(shell, "%mlops register model --name credit-risk")

    assert len(runs_of(client)) == 3  # no run was added
    version = client.get_model_version("credit-risk", "1")
    assert version.run_id == refit.info.run_id
    assert version.tags["mlops.source.run_id"] == refit.info.run_id
    assert refit.data.tags["mlops.cell.produced"] == ",model,"


def test_without_a_producing_run_the_register_cell_gets_its_own_run(
    shell, client, tracking_uri, capsys
):
    run_ok(shell, DATA_CELL)
    run_ok(
        shell,
        "model = LogisticRegression(max_iter=2000).fit(X_train[['income', 'age']], y_train)",
    )
    line = "%mlops register model --name plain --data X_train"
    run_ok(shell, line, cell_id="register-cell")

    run = only_run(client)
    assert run.info.run_name == "register-model"
    assert run.info.status == "FINISHED"
    assert artifact_text(client, run.info.run_id, "code/cell.py").startswith(line)
    version = client.get_model_version("plain", "1")
    assert version.run_id == run.info.run_id
    tags = version.tags
    assert tags["mlops.cell.id"] == "register-cell"
    assert tags["mlops.data.X_train.fingerprint"] == jupyter_mlops.fingerprint(
        shell.user_ns["X_train"]
    )
    assert tags["mlops.data.X_train.rows"] == "240"
    assert tags["mlops.reference.profiles"] == "reference/X_train.profile.json"
    mlflow.set_tracking_uri(tracking_uri)
    signature = mlflow.models.get_model_info("models:/plain/1").signature
    assert signature.inputs.input_names() == ["income", "age"]  # narrowed to the model's columns
    # one line says the lineage stops at the register cell, and how to fix it
    (warning,) = [w for w in capsys.readouterr().err.splitlines() if "warning" in w]
    assert "no recorded run produced model (it was not fitted in a %%mlops run cell)" in warning

    run_ok(shell, "%mlops register model --name nodata")
    assert "registered without a signature or input example" in capsys.readouterr().err
    bare = client.get_model_version("nodata", "1")
    assert "mlops.reference.profiles" not in bare.tags
    assert mlflow.models.get_model_info("models:/nodata/1").signature is None


def test_data_changed_since_the_run_keeps_the_recorded_fingerprint(shell, client, capsys):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    recorded = only_run(client).data.tags["mlops.data.X_train.fingerprint"]
    run_ok(shell, "X_train = X_train.assign(income=X_train['income'] + 1.0)")

    run_ok(shell, "%mlops register model --name credit-risk")

    err = capsys.readouterr().err
    assert "X_train changed since run" in err
    tags = client.get_model_version("credit-risk", "1").tags
    assert tags["mlops.data.X_train.fingerprint"] == recorded  # what the model learnt from
    assert recorded != jupyter_mlops.fingerprint(shell.user_ns["X_train"])
    assert tags["mlops.reference.profiles"] == "reference/y_train.profile.json"


# -- the Python API -------------------------------------------------------------------------


def _frame() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=["income", "debt", "age"])
    y = pd.Series((X["income"] - X["debt"] > 0).astype(int), name="default")
    return X, y


def test_python_api_registers_from_the_finished_block(tracking_uri, client):
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    X, y = _frame()
    with jupyter_mlops.run("train", params={"C": 0.5}, autolog=False) as run:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)

    registration = jupyter_mlops.register(
        model, name="api-model", alias="champion", owner="ml team", purpose="demo", risk_tier=3
    )

    assert registration.name == "api-model" and registration.version == "1"
    assert registration.run_id == run.run_id
    assert registration.model_uri == "models:/api-model/1"
    assert registration.alias is not None and registration.alias.to_version == "1"
    assert "X" in registration.data
    assert "reference/X.profile.json" in registration.profiles
    assert repr(registration) == registration.summary()
    assert len(runs_of(client)) == 1
    registered = client.get_registered_model("api-model")
    assert registered.tags["mlops.risk_tier"] == "3"  # an int is accepted and stored as text
    assert aliases(client, "api-model") == {"champion": "1"}
    tags = client.get_model_version("api-model", "1").tags
    assert tags["mlops.script.path"].endswith("test_registry_magic.py")
    assert json.loads(tags["mlops.params"]) == {"C": "0.5"}

    mlflow.set_tracking_uri(tracking_uri)
    loaded = mlflow.pyfunc.load_model("models:/api-model@champion")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X)), model.predict(X))


def test_python_api_refuses_the_block_still_being_recorded(tracking_uri, client):
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    X, y = _frame()
    with (
        pytest.raises(MlopsError, match="after the recorded cell") as raised,
        jupyter_mlops.run("inside", autolog=False),
    ):
        model = LogisticRegression().fit(X, y)
        jupyter_mlops.register(model, name="too-early")
    assert raised.value.code is ErrorCode.USAGE
    assert client.search_registered_models() == []
    assert runs_of(client)[0].data.tags["mlops.error.type"] == "MlopsError"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"risk_tier": 7}, "risk tier must be 1, 2 or 3"),
        ({"risk_tier": "high"}, "risk tier must be 1, 2 or 3"),
        ({"alias": "bad/alias"}, "Invalid alias name"),
        ({"alias": "latest"}, "reserved"),
        ({"alias": "v2"}, "reserved"),
        ({"name": "a:b"}, "cannot contain '/' or ':'"),
        ({"name": "team/model"}, "cannot contain '/' or ':'"),
        ({"name": "  "}, "Missing value"),
        ({"owner": "  "}, "owner must not be empty"),
        ({"purpose": ""}, "purpose must not be empty"),
        ({"data": [1, 2, 3]}, "pass a pandas DataFrame"),
        ({"alias": None, "reason": "why"}, "reason is recorded only when an alias moves"),
    ],
)
def test_python_api_bad_input_writes_nothing(tracking_uri, client, kwargs, message):
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    X, y = _frame()
    model = LogisticRegression().fit(X, y)
    arguments = {"name": "credit-risk", **kwargs}
    with pytest.raises(MlopsError, match=message) as raised:
        jupyter_mlops.register(model, **arguments)
    assert raised.value.code is ErrorCode.USAGE
    assert_nothing_written(client)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (LogisticRegression(), "unfitted LogisticRegression; fit it first"),
        ({"coef": [1.0]}, "builtins.dict, which cannot be registered"),
        ("a string", "builtins.str, which cannot be registered"),
    ],
)
def test_python_api_unsupported_model_writes_nothing(tracking_uri, client, model, message):
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    with pytest.raises(MlopsError, match=message) as raised:
        jupyter_mlops.register(model, name="credit-risk")
    assert "supported: a fitted scikit-learn estimator or Pipeline" in str(raised.value)
    assert raised.value.code is ErrorCode.USAGE
    assert_nothing_written(client)


def test_python_api_unknown_run_id_writes_nothing(tracking_uri, client):
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    X, y = _frame()
    model = LogisticRegression().fit(X, y)
    with pytest.raises(MlopsError, match="run 0123456789abcdef") as raised:
        jupyter_mlops.register(model, name="credit-risk", run_id="0123456789abcdef")
    assert raised.value.code is ErrorCode.NOT_FOUND
    assert_nothing_written(client)


# -- bad input in the magic -------------------------------------------------------------------

BAD_INPUT_CELL = DATA_CELL + (
    "model = LogisticRegression(max_iter=2000).fit(X_train[['income', 'age']], y_train)\n"
    "unfitted = LogisticRegression()\n"
    "pipeline_unfitted = Pipeline([('clf', LogisticRegression())])\n"
    "notamodel = {'coef': [1.0]}\n"
    "notaframe = [1, 2, 3]\n"
)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("unfitted --name m", "'?unfitted'? is an unfitted LogisticRegression; fit it first"),
        ("pipeline_unfitted --name m", "unfitted Pipeline"),
        ("notamodel --name m", "builtins.dict, which cannot be registered; supported: a fitted"),
        ("ghost --name m", "name 'ghost' is not defined"),
        ("model --name m --risk-tier 7", "invalid choice: '7'"),
        ("model --name m --alias bad/alias", "Invalid alias name: 'bad/alias'"),
        ("model --name m --alias latest", "'latest' alias name .* is reserved"),
        ("model --name m --alias V3", "Version alias name 'V3' is reserved"),
        ("model --name a/b", "Invalid model name 'a/b'"),
        ("model --name m --owner ''", "owner must not be empty"),
        ("model --name m --data notaframe", "training data notaframe is a list; pass a pandas"),
        ("model --name m --reason why", "reason is recorded only when an alias moves"),
        ("model --name m --data ghost", "name 'ghost' is not defined"),
        ("model --name m --data 'X_train.head()'", "expects a variable name"),
        ("model", "the following arguments are required: --name"),
        ("model --name m --bogus", "unrecognized arguments: --bogus"),
    ],
)
def test_magic_bad_input_is_a_usage_error_and_writes_nothing(shell, client, line, message):
    run_ok(shell, BAD_INPUT_CELL)
    with pytest.raises(UsageError, match=message):
        shell.run_line_magic("mlops", f"register {line}")
    assert_nothing_written(client)


def test_magic_bad_input_shows_one_line_without_traceback(shell, client, capsys):
    run_ok(shell, BAD_INPUT_CELL)
    capsys.readouterr()
    shell.run_cell("%mlops register model --name m --alias bad/alias", store_history=True)
    shell.run_cell("%mlops register unfitted --name m", store_history=True)
    captured = capsys.readouterr()
    shown = (captured.out + captured.err).strip().splitlines()
    assert len(shown) == 2, shown
    assert shown[0].startswith("UsageError: invalid name: Invalid alias name: 'bad/alias'")
    assert shown[1].startswith("UsageError: unfitted is an unfitted LogisticRegression")
    assert_nothing_written(client)


def test_register_as_cell_magic_is_a_usage_error(shell, client):
    run_ok(shell, BAD_INPUT_CELL)
    with pytest.raises(UsageError, match="register is a line magic"):
        shell.run_cell_magic("mlops", "register model --name m", "x = 1")
    assert_nothing_written(client)


# -- bugs ---------------------------------------------------------------------------------------


def test_model_name_with_an_apostrophe_registers_and_takes_the_alias(shell, client):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    run_ok(shell, '%mlops register model --name "bob\'s model" --alias champion')
    assert aliases(client, "bob's model") == {"champion": "1"}


def test_a_function_local_name_does_not_make_a_run_the_source(shell, client):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    fitted = only_run(client)
    run_ok(
        shell,
        "%%mlops run --no-autolog\n"
        "def refit(frame, labels):\n"
        "    model = LogisticRegression().fit(frame[['income']], labels)\n"
        "    return model\n",
    )
    run_ok(shell, "%mlops register model --name credit-risk")
    assert client.get_model_version("credit-risk", "1").run_id == fitted.info.run_id


def test_tree_models_register_and_load_with_plain_mlflow(shell, client, tracking_uri):
    """MLflow saves scikit-learn models with skops, which refuses a tree's ``Tree`` type by
    default; the version declares the model's own types trusted, so plain MLflow loads it."""
    run_ok(shell, DATA_CELL)
    run_ok(
        shell,
        "%%mlops run --no-autolog\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "forest = RandomForestClassifier(n_estimators=5, random_state=0)"
        '.fit(X_train[["income", "age"]], y_train)',
    )
    run_ok(shell, "%mlops register forest --name forest --alias champion")

    mlflow.set_tracking_uri(tracking_uri)
    loaded = mlflow.pyfunc.load_model("models:/forest@champion")
    features = shell.user_ns["X_train"][["income", "age"]]
    assert (loaded.predict(features) == shell.user_ns["forest"].predict(features)).all()


def test_a_model_refitted_outside_a_recorded_cell_is_not_credited_to_its_run(shell, client):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(c=0.5))
    (fitted_run,) = runs_of(client)
    # An ordinary cell replaces the model after the run recorded it.
    run_ok(
        shell, fit_cell(c=0.01).replace("%%mlops run --no-autolog --params C --metrics acc\n", "")
    )

    result = shell.run_cell("%mlops register model --name refitted", store_history=True)

    assert result.success
    version = client.get_model_version("refitted", "1")
    source = version.tags["mlops.source.run_id"]
    assert source != fitted_run.info.run_id  # a new run records the register cell
    assert client.get_run(source).info.run_name == "register-model"
    assert json.loads(version.tags["mlops.params"]).get("C") != "0.5"
