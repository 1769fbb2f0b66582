"""``jupyter-mlops promote`` / ``%mlops promote``: an alias moves only to a version that passed
validation against the alias's version now; refusals exit 3; overrides are recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from support.gates import FEATURES, loans, register
from support.registry import aliases, cli

pytestmark = pytest.mark.slow  # registers real models (each log_model takes seconds)


@pytest.fixture
def versions(tmp_path: Path, tracking_uri: str, client: MlflowClient) -> dict[str, str]:
    train = loans(seed=1)
    good = register(tracking_uri, LogisticRegression().fit(train[FEATURES], train["default"]))
    client.set_registered_model_alias("credit-risk", "champion", good)
    refit = register(tracking_uri, LogisticRegression(C=0.8).fit(train[FEATURES], train["default"]))
    poor = register(tracking_uri, DummyClassifier().fit(train[FEATURES], train["default"]))
    loans(seed=2).to_csv(tmp_path / "eval.csv", index=False)
    return {"good": good, "refit": refit, "poor": poor, "data": str(tmp_path / "eval.csv")}


def _validate(uri: str, version: str, data: str) -> int:
    result = cli(
        "validate", f"credit-risk/{version}", "--data", data, "--target", "default",
        "--gate", "roc_auc>=champion-0.02", "--tracking-uri", uri,
    )  # fmt: skip
    return result.exit_code


def _promote(uri: str, version: str, *extra: str):
    return cli(
        "promote", f"credit-risk/{version}", "--alias", "champion", "--tracking-uri", uri, *extra
    )


def test_promotion_needs_a_passed_validation_against_the_champion_now(
    versions: dict[str, str], tracking_uri: str, client: MlflowClient
):
    refused = _promote(tracking_uri, versions["refit"])
    assert refused.exit_code == 3 and "has not been validated" in refused.stderr
    assert aliases(client, "credit-risk")["champion"] == versions["good"]

    assert _validate(tracking_uri, versions["refit"], versions["data"]) == 0
    done = _promote(tracking_uri, versions["refit"], "--reason", "retrained on Q3")
    assert done.exit_code == 0, done.output
    assert aliases(client, "credit-risk")["champion"] == versions["refit"]
    history = json.loads(
        cli("alias", "history", "credit-risk", "--json", "--tracking-uri", tracking_uri).output
    )
    last = history[-1] if isinstance(history, list) else history["entries"][-1]
    tags = client.get_model_version("credit-risk", versions["refit"]).tags
    assert last["action"] == "promote"
    assert tags["mlops.validation.run_id"] in last["reason"]
    assert tags["mlops.validation.sha256"] in last["reason"]


def test_a_champion_that_changed_since_the_validation_means_validate_again(
    versions: dict[str, str], tracking_uri: str, client: MlflowClient
):
    assert _validate(tracking_uri, versions["refit"], versions["data"]) == 0
    client.set_registered_model_alias("credit-risk", "champion", versions["poor"])
    refused = _promote(tracking_uri, versions["refit"])
    assert refused.exit_code == 3 and "validate again" in refused.stderr


def test_a_failed_validation_is_refused_and_an_override_is_recorded(
    versions: dict[str, str], tracking_uri: str, client: MlflowClient
):
    assert _validate(tracking_uri, versions["poor"], versions["data"]) == 3
    refused = _promote(tracking_uri, versions["poor"])
    assert refused.exit_code == 3 and "did not pass its validation" in refused.stderr
    no_reason = _promote(tracking_uri, versions["poor"], "--override")
    assert no_reason.exit_code == 2 and "needs a --reason" in no_reason.stderr
    assert (
        "mlops.validation.override"
        not in client.get_model_version("credit-risk", versions["poor"]).tags
    )
    done = _promote(tracking_uri, versions["poor"], "--override", "--reason", "approved exception")
    assert done.exit_code == 0 and "OVERRIDE" in done.output
    record = json.loads(
        client.get_model_version("credit-risk", versions["poor"]).tags["mlops.validation.override"]
    )
    assert record["reason"] == "approved exception" and "did not pass" in record["refused_because"]
    assert aliases(client, "credit-risk")["champion"] == versions["poor"]


def test_the_magic_refuses_in_one_line(
    shell: InteractiveShell, versions: dict[str, str], client: MlflowClient
):
    with pytest.raises(UsageError) as error:
        shell.run_line_magic("mlops", f"promote credit-risk/{versions['refit']} --to champion")
    assert "has not been validated" in str(error.value) and "\n" not in str(error.value)
    assert aliases(client, "credit-risk")["champion"] == versions["good"]
