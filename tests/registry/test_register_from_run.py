"""``%%mlops run --log-model VAR`` logs the fitted model with its run; the panel's route
``POST models/NAME/versions`` registers it by run id with the same lineage as
``%mlops register``, which reuses the logged model instead of logging it twice."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import mlflow
import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient

import jupyter_mlops
import jupyter_mlops.core.capture.session
from jupyter_mlops.core.registry.run_models import logged_models
from support.registry import DATA_CELL, REGISTER_LINE, fit_cell, run_ok
from support.runs import runs_of

pytestmark = pytest.mark.slow


def _fit_and_log(c: float = 0.5) -> str:
    first, rest = fit_cell(c).split("\n", 1)
    return f"{first} --log-model model\n{rest}"


@pytest.fixture
def logged(jp_root_dir: Path, _migrated_store: Path) -> dict[str, Any]:
    """``a.ipynb`` in the root with two runs: one that logged its model, one that did not."""
    shutil.copyfile(_migrated_store, jp_root_dir / "mlflow.db")
    notebook = jp_root_dir / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    uri = f"sqlite:///{jp_root_dir / 'mlflow.db'}"
    ip = InteractiveShell.instance()
    ip.reset(new_session=True)  # no history of earlier tests (papermill's injected cells)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    try:
        ip.run_line_magic("mlops", f"init --tracking-uri {uri} --notebook {notebook}")
        run_ok(ip, DATA_CELL)
        run_ok(ip, "%%mlops run --name plain\nz = 1")
        run_ok(ip, _fit_and_log())
    finally:
        ip.run_line_magic("unload_ext", "jupyter_mlops")
        ip.reset(new_session=False)
        jupyter_mlops.reset()
    client = MlflowClient(uri)
    runs = client.search_runs(
        [client.get_experiment_by_name("a").experiment_id], order_by=["attributes.start_time"]
    )
    return {"client": client, "plain": runs[0], "fitted": runs[1], "uri": uri}


def test_log_model_logs_the_fitted_model_with_signature_and_tags(shell):
    run_ok(shell, DATA_CELL)
    run_ok(shell, _fit_and_log())
    client = MlflowClient(
        jupyter_mlops.core.capture.session.current().resolved.settings.tracking_uri
    )
    run = runs_of(client)[0]
    (model,) = logged_models(client, run)
    assert model.tags["mlops.model.variable"] == "model"
    assert len(model.tags["mlops.model.fingerprint"]) == 64
    loaded = mlflow.pyfunc.load_model(
        model.model_uri if hasattr(model, "model_uri") else f"models:/{model.model_id}"
    )
    assert loaded.metadata.signature is not None
    assert client.get_run(run.info.run_id).data.tags["mlops.reference.profiles"]


def test_register_reuses_the_logged_model_and_a_refit_is_logged_anew(shell, client):
    run_ok(shell, DATA_CELL)
    run_ok(shell, _fit_and_log())
    run_ok(shell, REGISTER_LINE)
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    fitted = next(r for r in runs if logged_models(client, r))
    assert len(logged_models(client, fitted)) == 1, "registering logged the model a second time"
    run_ok(shell, "model.set_params(clf__C=0.01).fit(X_train, y_train)")
    run_ok(shell, REGISTER_LINE)
    assert len(logged_models(client, client.get_run(fitted.info.run_id))) == 2


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("--log-model nothing_here", "no variable 'nothing_here'"),
        ("--log-model X_train", "X_train"),
        ("--log-model 1bad", "not one"),
    ],
)
def test_bad_log_model_is_one_clear_line(shell, client, line, words):
    run_ok(shell, DATA_CELL)
    with pytest.raises(UsageError, match=words):
        shell.run_cell_magic("mlops", f"run --name bad {line}", "q = 1")
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    for run in runs:
        assert not logged_models(client, run)


async def test_route_registers_the_logged_model_with_lineage_and_alias(api, logged):
    client, fitted = logged["client"], logged["fitted"]
    body = {
        "run_id": fitted.info.run_id,
        "alias": "champion",
        "owner": "Risk team",
        "purpose": "scoring",
        "risk_tier": "2",
    }
    status, reply = await api(
        "POST", "models", "credit-risk", "versions", params={"notebook": "a.ipynb"}, body=body
    )
    assert status == 201, reply
    assert reply["version"] == "1" and reply["model_uri"] == "models:/credit-risk/1"
    assert reply["alias"]["to_version"] == "1" and reply["alias"]["from_version"] is None
    version = client.get_model_version("credit-risk", "1")
    assert version.tags["mlops.source.run_id"] == fitted.info.run_id
    assert version.tags["mlops.notebook.path"] == "a.ipynb"
    assert version.tags["mlops.data.X_train.fingerprint"]
    assert version.tags["mlops.reference.profiles"]
    model = client.get_registered_model("credit-risk")
    assert model.tags["mlops.owner"] == "Risk team" and {
        k: str(v) for k, v in model.aliases.items()
    } == {"champion": "1"}
    mlflow.set_tracking_uri(logged["uri"])
    loaded = mlflow.pyfunc.load_model("models:/credit-risk@champion")
    assert loaded.metadata.signature is not None
    status, again = await api(
        "POST",
        "models",
        "credit-risk",
        "versions",
        params={"notebook": "a.ipynb"},
        body={"run_id": fitted.info.run_id, "alias": "champion", "reason": "again"},
    )
    assert status == 201, again
    assert (again["alias"]["from_version"], again["alias"]["to_version"]) == ("1", "2")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "run_id"),
        ({"run_id": "0" * 32}, 404, "no run"),
        ({"run_id": "PLAIN"}, 400, "no logged model"),
        ({"run_id": "FITTED", "risk_tier": "7"}, 400, "risk tier"),
        ({"run_id": "FITTED", "alias": "v3"}, 400, "alias"),
        ({"run_id": "FITTED", "owner": "  "}, 400, "owner"),
        ({"run_id": "FITTED", "colour": "red"}, 400, "unknown field"),
        ({"run_id": "FITTED", "risk_tier": 2}, 400, "text"),
        ("not json", 400, "JSON"),
        (["a list"], 400, "object"),
    ],
)
async def test_bad_registrations_write_nothing(api, logged, body, status, words):
    if isinstance(body, dict) and body.get("run_id") in ("PLAIN", "FITTED"):
        body = {**body, "run_id": logged[body["run_id"].lower()].info.run_id}
    code, reply = await api(
        "POST", "models", "credit-risk", "versions", params={"notebook": "a.ipynb"}, body=body
    )
    assert code == status, reply
    assert words in reply["message"], reply
    assert logged["client"].search_registered_models() == []


@pytest.mark.parametrize("notebook", ["../a.ipynb", "/etc/passwd.ipynb"])
async def test_register_refuses_a_notebook_outside_the_root(api, logged, notebook):
    code, reply = await api(
        "POST",
        "models",
        "credit-risk",
        "versions",
        params={"notebook": notebook},
        body={"run_id": logged["fitted"].info.run_id},
    )
    assert code == 400, reply
    assert logged["client"].search_registered_models() == []
