"""``jupyter-mlops validate`` on real registered models in a real SQLite store: the gates pass
and fail, the decision record is written (its sha256 on the version matches the artifact),
exit code 3 tells "not good enough" from an error, and bad input writes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.core.gates.validate import DECISION_SCHEMA
from support.gates import FEATURES, loans, register
from support.registry import cli

pytestmark = pytest.mark.slow  # registers real models (each log_model takes seconds)


@pytest.fixture
def project(tmp_path: Path, tracking_uri: str, client: MlflowClient) -> dict[str, object]:
    train, evaluation = loans(seed=1), loans(seed=2)
    good = LogisticRegression().fit(train[FEATURES], train["default"])
    champion = register(tracking_uri, good)
    client.set_registered_model_alias("credit-risk", "champion", champion)
    data = tmp_path / "eval.csv"
    evaluation.to_csv(data, index=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    return {"train": train, "data": data, "champion": champion, "good": good}


def _validate(tracking_uri: str, version: str, data: Path, *extra: str):
    return cli(
        "validate",
        f"credit-risk/{version}",
        "--data",
        str(data),
        "--target",
        "default",
        "--tracking-uri",
        tracking_uri,
        *extra,
    )


def test_a_challenger_as_good_as_the_champion_passes_and_the_record_matches_its_tag(
    project: dict[str, object], tracking_uri: str, client: MlflowClient
):
    train = project["train"]
    assert isinstance(train, pd.DataFrame)
    refit = LogisticRegression(C=0.9).fit(train[FEATURES], train["default"])
    version = register(tracking_uri, refit)
    result = _validate(
        tracking_uri,
        version,
        Path(str(project["data"])),
        "--gate",
        "roc_auc>=0.6",
        "--gate",
        "roc_auc>=champion-0.02",
        "--gate",
        "score_psi_vs_champion<=0.25",
    )
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output
    tags = client.get_model_version("credit-risk", version).tags
    assert tags["mlops.validation.status"] == "passed"
    assert tags["mlops.validation.against"] == project["champion"]
    run_id = tags["mlops.validation.run_id"]
    local = client.download_artifacts(run_id, "validation/decision.json", str(Path.cwd()))
    text = Path(local).read_text(encoding="utf-8")
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == tags["mlops.validation.sha256"]
    decision = json.loads(text)
    assert decision["schema"] == DECISION_SCHEMA
    relative = next(g for g in decision["gates"] if g["gate"].endswith("max_drop_vs_champion"))
    assert relative["verdict"] == "passed" and relative["interval"][0] >= -0.02
    assert decision["data"]["rows"] == 1500 and decision["champion_version"] == project["champion"]
    report = client.download_artifacts(run_id, "validation/report.html", str(Path.cwd()))
    page = Path(report).read_text(encoding="utf-8")
    assert "<svg" in page and "<script" not in page
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["gate.metrics.roc_auc.min.value"] > 0.6


def test_a_worse_challenger_fails_with_exit_code_3_naming_the_gate(
    project: dict[str, object], tracking_uri: str, client: MlflowClient
):
    train = project["train"]
    assert isinstance(train, pd.DataFrame)
    worse = DummyClassifier(strategy="prior").fit(train[FEATURES], train["default"])
    version = register(tracking_uri, worse)
    result = _validate(
        tracking_uri, version, Path(str(project["data"])), "--gate", "roc_auc>=champion-0.005"
    )
    assert result.exit_code == 3, result.output
    assert "FAILED" in result.output and "metrics.roc_auc.max_drop_vs_champion" in result.output
    assert client.get_model_version("credit-risk", version).tags["mlops.validation.status"] == (
        "failed"
    )


def test_the_first_model_skips_relative_gates_and_says_so(
    tmp_path: Path, tracking_uri: str, client: MlflowClient
):
    train = loans(seed=3)
    version = register(tracking_uri, LogisticRegression().fit(train[FEATURES], train["default"]))
    data = tmp_path / "eval.parquet"
    loans(seed=4).to_parquet(data)
    result = _validate(
        tracking_uri, version, data, "--gate", "roc_auc>=0.6", "--gate", "roc_auc>=champion-0.01"
    )
    assert result.exit_code == 0, result.output
    assert "no champion yet" in result.output
    assert "SKIPPED" in result.output


def test_a_policy_in_pyproject_gates_fairness_on_a_biased_model(
    tmp_path: Path, tracking_uri: str, client: MlflowClient, monkeypatch: pytest.MonkeyPatch
):
    train = loans(seed=5)
    train["owner"] = (train["home_owner"] == "own").astype(float)
    biased = LogisticRegression().fit(train[[*FEATURES, "owner"]], train["home_owner"] == "own")
    version = register(tracking_uri, biased)  # predicts home ownership: maximally unfair
    evaluation = loans(seed=6)
    evaluation["owner"] = (evaluation["home_owner"] == "own").astype(float)
    data = tmp_path / "eval.csv"
    evaluation.to_csv(data, index=False)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.jupyter-mlops.models.credit-risk.gates]\n"
        'fairness.sensitive = ["home_owner"]\n'
        "fairness.demographic_parity_ratio = { min = 0.8 }\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = _validate(tracking_uri, version, data)
    assert result.exit_code == 3, result.output
    assert "fairness.demographic_parity_ratio[home_owner]" in result.output


def test_nothing_gated_is_said_not_passed_silently(
    project: dict[str, object], tracking_uri: str, client: MlflowClient
):
    version = str(project["champion"])
    result = _validate(tracking_uri, version, Path(str(project["data"])))
    assert result.exit_code == 0
    assert "nothing was gated" in result.output
    assert client.get_model_version("credit-risk", version).tags["mlops.validation.status"] == (
        "ungated"
    )


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        ("target", (), "target column 'loan_status' is not in the data"),
        ("one-class", (), "exactly two classes"),
        ("columns", (), "lacks column(s) the challenger"),
        ("suffix", (), ".csv or .parquet"),
        ("gate", ("--gate", "roc_acu>=0.7"), "did you mean 'roc_auc'"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    project: dict[str, object],
    tracking_uri: str,
    client: MlflowClient,
    tmp_path: Path,
    change: str,
    extra: tuple[str, ...],
    message: str,
):
    version = str(project["champion"])
    frame = pd.read_csv(Path(str(project["data"])))
    target = "default"
    data = tmp_path / "bad.csv"
    if change == "target":
        target = "loan_status"
    elif change == "one-class":
        frame["default"] = 0
    elif change == "columns":
        frame = frame.drop(columns=["debt"])
    elif change == "suffix":
        data = tmp_path / "bad.txt"
    frame.to_csv(data, index=False)
    result = cli(
        "validate",
        f"credit-risk/{version}",
        "--data",
        str(data),
        "--target",
        target,
        "--tracking-uri",
        tracking_uri,
        *extra,
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "mlops.validation.status" not in client.get_model_version("credit-risk", version).tags
    assert client.get_experiment_by_name("credit-risk-validation") is None
