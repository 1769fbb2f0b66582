"""The plain-Python API: ``with jupyter_mlops.run(...)`` outside magics."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

import jupyter_mlops
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from support.runs import artifact_text, only_run, runs_of


@pytest.fixture
def store(tracking_uri: str) -> str:
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    return tracking_uri


def test_values_names_and_data(store, client):
    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0]})
    depth = 4
    with jupyter_mlops.run("api", params={"C": 1.0}, tags={"team": "risk"}, autolog=False) as run:
        run.log_metrics({"auc": 0.91})
        run.log_data("frame", frame, context="training")
        run.log_params({"depth": depth})
    assert run.result is not None and run.result.status == "FINISHED"
    recorded = only_run(client)
    assert recorded.data.params == {"C": "1.0", "depth": "4"}
    assert recorded.data.metrics == {"auc": 0.91}
    assert recorded.data.tags["team"] == "risk"
    assert recorded.data.tags["mlops.data.frame.fingerprint"] == jupyter_mlops.fingerprint(frame)
    assert "def test_values_names_and_data" in artifact_text(
        client, recorded.info.run_id, "code/cell.py"
    )


def test_names_are_read_when_the_block_ends(store, client):
    with jupyter_mlops.run(params=["alpha"], metrics="score", autolog=False):
        alpha = 0.3
        score = 0.75
    assert (alpha, score) == (0.3, 0.75)
    recorded = only_run(client)
    assert recorded.data.params == {"alpha": "0.3"}
    assert recorded.data.metrics == {"score": 0.75}


def test_exception_fails_the_run_and_propagates(store, client):
    with pytest.raises(ZeroDivisionError), jupyter_mlops.run("boom", autolog=False):
        1 / 0  # noqa: B018
    assert only_run(client).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_nested_api_runs_are_parent_and_child(store, client):
    with (
        jupyter_mlops.run("outer", autolog=False) as outer,
        jupyter_mlops.run("inner", autolog=False),
    ):
        pass
    runs = {r.info.run_name: r for r in runs_of(client)}
    assert runs["inner"].data.tags["mlflow.parentRunId"] == outer.run_id


def test_runs_table_renders_as_text_and_html(store, client):
    with jupyter_mlops.run("first", params={"C": 1}, autolog=False) as first:
        first.log_metrics({"auc": 0.8})
    table = jupyter_mlops.runs()
    text = repr(table)
    assert "first" in text and "FINISHED" in text and "C=1" in text and "auc=0.8" in text
    assert "<table>" in table._repr_html_() and "first" in table._repr_html_()
    with pytest.raises(MlopsError, match="positive") as caught:
        jupyter_mlops.runs(0)
    assert caught.value.code is ErrorCode.USAGE


def test_unusable_store_fails_before_the_body(tmp_path):
    with pytest.raises(MlopsError, match="does not exist") as caught:
        jupyter_mlops.init(tracking_uri=f"sqlite:///{tmp_path}/no/such/dir/mlflow.db")
    assert caught.value.code is ErrorCode.CONFIG
