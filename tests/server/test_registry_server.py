"""The registry through a real MLflow tracking server (HTTP): what works on SQLite works there.

The ledger is plain registered-model tags, so any MLflow server stores and serves it; the
model and its reference profile travel through the server's artifact proxy.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner
from IPython.utils.capture import capture_output
from mlflow import MlflowClient

from jupyter_mlops.cli import main

pytestmark = pytest.mark.slow


def test_register_alias_history_and_rollback_through_a_tracking_server(
    shell, mlflow_server, tmp_path: Path
):
    uri = f"http://127.0.0.1:{mlflow_server}"
    shell.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment remote")
    shell.run_cell(
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)"
    )
    assert shell.run_cell(
        "%%mlops run --no-autolog --metrics acc\n"
        "model = LogisticRegression(max_iter=3000).fit(X, y)\n"
        "acc = model.score(X, y)"
    ).success
    with capture_output() as shown:
        for _ in range(2):
            result = shell.run_cell(
                "%mlops register model --name remote-model --alias champion --owner risk "
                "--purpose pd --risk-tier 1"
            )
            assert result.success, shown.stderr
    assert "version 2" in shown.stdout

    client = MlflowClient(uri)
    version = client.get_model_version_by_alias("remote-model", "champion")
    assert version.version in (2, "2")
    run_id = version.tags["mlops.source.run_id"]
    profile = client.download_artifacts(run_id, "reference/X.profile.json", str(tmp_path))
    assert json.loads(Path(profile).read_text(encoding="utf-8"))["rows"] == len(shell.user_ns["X"])

    runner = CliRunner()
    rolled = runner.invoke(
        main, ["rollback", "remote-model", "--reason", "v2 regressed", "--tracking-uri", uri]
    )
    assert rolled.exit_code == 0, rolled.output
    history = runner.invoke(
        main, ["alias", "history", "remote-model", "--json", "--tracking-uri", uri]
    )
    assert history.exit_code == 0, history.output
    moves = [(e["from_version"], e["to_version"], e["action"]) for e in json.loads(history.output)]
    assert moves == [(None, "1", "register"), ("1", "2", "register"), ("2", "1", "rollback")]

    mlflow.set_tracking_uri(uri)
    loaded = mlflow.pyfunc.load_model("models:/remote-model@champion")
    X = shell.user_ns["X"]
    assert (loaded.predict(X) == shell.user_ns["model"].predict(X)).all()
