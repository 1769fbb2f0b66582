"""``%mlops validate`` in a real IPython shell on registered models: the decision renders inline
and is recorded; user mistakes are one-line ``UsageError``s that write nothing."""

from __future__ import annotations

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.core.gates.validation import Validation

pytestmark = pytest.mark.slow  # registers real models (each log_model takes seconds)


def _data(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"income": rng.normal(50, 15, rows), "debt": rng.normal(20, 8, rows)})
    logit = 0.08 * (frame["income"] - 50) - 0.15 * (frame["debt"] - 20)
    labels = pd.Series((rng.random(rows) < 1 / (1 + np.exp(logit))).astype(int), name="default")
    return frame, labels


@pytest.fixture
def registered(shell: InteractiveShell, tracking_uri: str, client: MlflowClient) -> list[str]:
    X, y = _data(1200, 1)
    versions = []
    mlflow.set_experiment("training")
    for c in (1.0, 0.5):
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(LogisticRegression(C=c).fit(X, y), name="model")
        versions.append(str(mlflow.register_model(info.model_uri, "credit-risk").version))
    client.set_registered_model_alias("credit-risk", "champion", versions[0])
    X_eval, y_eval = _data(1000, 2)
    shell.user_ns.update(
        X_eval=X_eval, y_eval=y_eval, groups=pd.DataFrame({"owner": ["own", "rent"] * 500})
    )
    return versions


def test_the_decision_renders_inline_and_is_recorded(
    shell: InteractiveShell, registered: list[str], client: MlflowClient
):
    result = shell.run_line_magic(
        "mlops",
        f"validate credit-risk/{registered[1]} --data X_eval --target y_eval "
        "--sensitive groups --gate roc_auc>=champion-0.02 "
        "--gate demographic_parity_ratio>=0.5",
    )
    assert isinstance(result, Validation)
    assert result.decision.status == "passed", result.to_text()
    html = result._repr_html_()
    assert (
        "passed" in html and "<svg" in html and "fairness.demographic_parity_ratio[owner]" in html
    )
    tags = client.get_model_version("credit-risk", registered[1]).tags
    assert tags["mlops.validation.status"] == "passed"
    assert tags["mlops.validation.run_id"] == result.recorded.run_id


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--data missing --target y_eval", "--data: name 'missing' is not defined"),
        ("--data y_eval --target y_eval", "--data must be a pandas DataFrame"),
        ("--data X_eval --target groups", "--target has"),
        ("--data X_eval --target y_eval --gate roc_auc>=1.5", "roc_auc"),
    ],
)
def test_mistakes_are_one_line_and_write_nothing(
    shell: InteractiveShell, registered: list[str], client: MlflowClient, line: str, message: str
):
    with pytest.raises(UsageError) as error:
        shell.run_line_magic("mlops", f"validate credit-risk/{registered[1]} {line}")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert "mlops.validation.status" not in client.get_model_version("credit-risk", "2").tags
    assert client.get_experiment_by_name("credit-risk-validation") is None
