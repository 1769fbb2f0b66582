"""The validation policy (issue 14): read from a real pyproject.toml or YAML file, checked
key by key, with command-line gates overriding single keys."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.gates.policy import (
    FairnessGate,
    MetricGate,
    Policy,
    SliceGate,
    StabilityGate,
    apply_gates,
    load_policy,
    parse_gate,
    policy_from_mapping,
)

CREDIT = """
[project]
name = "credit"

[tool.jupyter-mlops.models.credit-risk]
protected_aliases = ["champion"]
[tool.jupyter-mlops.models.credit-risk.gates]
metrics.roc_auc = { min = 0.70, max_drop_vs_champion = 0.005 }
metrics.accuracy_score = { min = 0.70 }
confidence = 0.95
bootstrap = 1000
fairness.sensitive = ["home_owner", "age_band"]
fairness.demographic_parity_ratio = { min = 0.8 }
fairness.equalized_odds_difference = { max = 0.10 }
fairness.min_group_size = 50
stability.score_psi_vs_champion = { max = 0.25 }
stability.score_psi_train_vs_eval = { max = 0.10 }
stability.slice = { column = "region", max_metric_spread = 0.05 }
"""

PREFIX = "tool.jupyter-mlops.models.credit-risk"


def write_pyproject(folder: Path, text: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refused(model: str = "credit-risk", **kwargs: object) -> str:
    """The one USAGE line load_policy(model, ...) refuses with."""
    with pytest.raises(MlopsError) as caught:
        load_policy(model, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.USAGE
    assert "\n" not in caught.value.message
    return caught.value.message


def test_the_issue_example_reads_into_a_typed_policy(tmp_path: Path) -> None:
    pyproject = write_pyproject(tmp_path, CREDIT)
    nested = tmp_path / "notebooks" / "deep"
    nested.mkdir(parents=True)

    policy = load_policy("credit-risk", start=nested)  # found from below, as config does

    assert policy.sources == (str(pyproject),)
    assert policy.protected_aliases == ("champion",)
    assert policy.metrics == (
        MetricGate("roc_auc", min=0.70, max_drop_vs_champion=0.005),
        MetricGate("accuracy_score", min=0.70),
    )
    assert (policy.confidence, policy.bootstrap) == (0.95, 1000)
    assert policy.fairness.sensitive == ("home_owner", "age_band")
    assert policy.fairness.min_group_size == 50
    assert policy.fairness.gates == (
        FairnessGate("demographic_parity_ratio", min=0.8),
        FairnessGate("equalized_odds_difference", max=0.10),
    )
    assert policy.stability.gates == (
        StabilityGate("score_psi_vs_champion", 0.25),
        StabilityGate("score_psi_train_vs_eval", 0.10),
    )
    assert policy.stability.slice == SliceGate("region", 0.05, "roc_auc")
    assert not policy.is_empty
    assert policy.metric("roc_auc") is not None and policy.metric("roc_auc").higher_is_better
    assert policy.metric("f1_score") is None


def test_to_dict_is_json_ready_stable_and_reads_back(tmp_path: Path) -> None:
    write_pyproject(tmp_path, CREDIT)
    policy = load_policy("credit-risk")
    record = policy.to_dict()

    assert list(record) == ["model", "sources", "protected_aliases", "gates"]
    assert list(record["gates"]) == ["metrics", "confidence", "bootstrap", "fairness", "stability"]
    assert list(record["gates"]["metrics"]) == ["accuracy_score", "roc_auc"]  # sorted
    assert record["gates"]["metrics"]["roc_auc"] == {"min": 0.7, "max_drop_vs_champion": 0.005}
    assert list(record["gates"]["stability"]) == [
        "score_psi_vs_champion",
        "score_psi_train_vs_eval",
        "slice",
    ]
    assert json.loads(json.dumps(record)) == record
    # the same gates given in another order give the same record
    flipped = apply_gates(Policy("credit-risk"), ["accuracy_score>=0.7", "roc_auc>=0.7"])
    again = apply_gates(Policy("credit-risk"), ["roc_auc>=0.7", "accuracy_score>=0.7"])
    assert json.dumps(flipped.to_dict()["gates"]) == json.dumps(again.to_dict()["gates"])

    table = {key: record[key] for key in ("protected_aliases", "gates")}
    reread = policy_from_mapping("credit-risk", table, where=policy.sources[0])
    assert reread.to_dict() == record


def test_nothing_configured_is_an_empty_policy(tmp_path: Path) -> None:
    assert load_policy("credit-risk").is_empty  # no pyproject.toml at all
    write_pyproject(tmp_path, '[project]\nname = "x"\n')
    assert load_policy("credit-risk") == Policy("credit-risk")
    write_pyproject(tmp_path, CREDIT)
    other = load_policy("fraud")  # the pyproject gates another model only
    assert other.is_empty and other.sources == ()
    protected_only = policy_from_mapping("m", {"protected_aliases": ["champion"]})
    assert protected_only.is_empty  # protecting an alias gates nothing


def test_yaml_file_with_the_model_table_replaces_pyproject(tmp_path: Path) -> None:
    write_pyproject(tmp_path, CREDIT)
    file = tmp_path / "policy.yaml"
    file.write_text(
        "protected_aliases: [champion, prod]\n"
        "gates:\n"
        "  metrics:\n"
        "    log_loss: {max: 0.45, max_drop_vs_champion: 0.01}\n"
        "  fairness:\n"
        "    demographic_parity_difference: {max: 0.1}\n",
        encoding="utf-8",
    )
    policy = load_policy("credit-risk", policy_file=file)
    assert policy.sources == (str(file),)
    assert policy.protected_aliases == ("champion", "prod")
    assert policy.metrics == (MetricGate("log_loss", max=0.45, max_drop_vs_champion=0.01),)
    assert not policy.metric("log_loss").higher_is_better  # type: ignore[union-attr]
    assert policy.fairness.gates == (FairnessGate("demographic_parity_difference", max=0.1),)
    assert policy.stability.gates == ()  # nothing from pyproject.toml leaks in


def test_yaml_file_may_hold_several_models(tmp_path: Path) -> None:
    file = tmp_path / "policies.yml"
    file.write_text(
        "models:\n"
        "  credit-risk:\n"
        "    gates: {metrics: {roc_auc: {min: 0.7}}}\n"
        "  fraud:\n"
        "    gates: {metrics: {recall_score: {min: 0.9}}}\n",
        encoding="utf-8",
    )
    assert load_policy("fraud", policy_file=str(file)).metrics == (
        MetricGate("recall_score", min=0.9),
    )
    assert refused("churn", policy_file=file) == (
        f"models: has no model 'churn' (it has: credit-risk, fraud) (in {file})"
    )
    file.write_text("models: {credit-risk: {}}\ngates: {}\n", encoding="utf-8")
    assert refused(policy_file=file) == (
        f"gates: a policy file with models: holds nothing else at the top level (in {file})"
    )


def test_misspelt_metric_names_the_full_dotted_key(tmp_path: Path) -> None:
    pyproject = write_pyproject(
        tmp_path,
        """
        [tool.jupyter-mlops.models.credit-risk.gates]
        metrics.roc_acu = { min = 0.7 }
        """,
    )
    assert refused() == (
        f"{PREFIX}.gates.metrics.roc_acu: unknown metric; did you mean 'roc_auc'? (in {pyproject})"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'protected_alias = ["champion"]',
            "protected_alias: unknown key; did you mean 'protected_aliases'?",
        ),
        ('protected_aliases = "champion"', "protected_aliases: must be a list of names, got text"),
        (
            'protected_aliases = ["champion", "champion"]',
            "protected_aliases[1]: 'champion' is listed twice",
        ),
        ("gates = 3", "gates: must be a table (mapping), got int (3)"),
        ("gates.confidance = 0.9", "gates.confidance: unknown key; did you mean 'confidence'?"),
        (
            'gates.metrics.roc_auc = { min = "0.7" }',
            "gates.metrics.roc_auc.min: must be a number, got text ('0.7')",
        ),
        (
            "gates.metrics.roc_auc = { min = true }",
            "gates.metrics.roc_auc.min: must be a number, got a boolean (True)",
        ),
        (
            "gates.metrics.roc_auc = { min = 70 }",
            "gates.metrics.roc_auc.min: must be from 0 to 1, got 70",
        ),
        (
            "gates.metrics.roc_auc = { min = 0.8, max = 0.7 }",
            "gates.metrics.roc_auc: min 0.8 is above max 0.7",
        ),
        (
            "gates.metrics.roc_auc = { minimum = 0.8 }",
            "gates.metrics.roc_auc.minimum: unknown key; did you mean 'min'?",
        ),
        ("gates.metrics.roc_auc = {}", "gates.metrics.roc_auc: sets no threshold"),
        (
            "gates.metrics.roc_auc = { max_drop_vs_champion = -0.01 }",
            "gates.metrics.roc_auc.max_drop_vs_champion: must be 0 or more",
        ),
        ("gates.confidence = 1.0", "gates.confidence: must be above 0 and below 1, got 1"),
        ("gates.confidence = 0", "gates.confidence: must be above 0 and below 1, got 0"),
        ("gates.bootstrap = 50", "gates.bootstrap: must be from 100 to 1000000, got 50"),
        ("gates.bootstrap = 1000.0", "gates.bootstrap: must be a whole number, got float"),
        (
            'gates.fairness.sensitive = "home_owner"',
            "gates.fairness.sensitive: must be a list of names",
        ),
        (
            'gates.fairness.sensitive = ["home_owner", ""]',
            "gates.fairness.sensitive[1]: must be a non-empty string",
        ),
        (
            "gates.fairness.demographic_parity = { min = 0.8 }",
            "gates.fairness."
            "demographic_parity: unknown fairness key; did you mean 'demographic_parity_ratio'?",
        ),
        (
            "gates.fairness.demographic_parity_ratio = { min = 1.5 }",
            "gates.fairness.demographic_parity_ratio.min: must be from 0 to 1, got 1.5",
        ),
        (
            "gates.fairness.demographic_parity_ratio = { max_drop_vs_champion = 0.1 }",
            "gates.fairness.demographic_parity_ratio.max_drop_vs_champion: unknown key",
        ),
        ("gates.fairness.min_group_size = 0", "gates.fairness.min_group_size: must be from 1"),
        (
            "gates.stability.score_psi_vs_champion = { min = 0.1 }",
            "gates.stability.score_psi_vs_champion.min: unknown key; known: max",
        ),
        (
            "gates.stability.score_psi_vs_champion = {}",
            "gates.stability.score_psi_vs_champion: needs a max",
        ),
        (
            "gates.stability.score_psi_vs_champion = { max = -1 }",
            "gates.stability.score_psi_vs_champion.max: must be 0 or more",
        ),
        ("gates.stability.psi = { max = 0.2 }", "gates.stability.psi: unknown stability key"),
        (
            'gates.stability.slice = { column = "region" }',
            "gates.stability.slice: needs max_metric_spread",
        ),
        (
            "gates.stability.slice = { column = 3, max_metric_spread = 0.05 }",
            "gates.stability.slice.column: must be a column name, got int (3)",
        ),
        (
            'gates.stability.slice = { column = "region", max_metric_spread = 0.05, '
            'metric = "auc" }',
            "gates.stability.slice.metric: unknown metric; did you mean 'roc_auc'?",
        ),
    ],
)
def test_each_bad_value_is_one_line_naming_its_key(
    tmp_path: Path, table: str, message: str
) -> None:
    pyproject = write_pyproject(tmp_path, f"[tool.jupyter-mlops.models.credit-risk]\n{table}\n")
    error = refused()
    assert error.startswith(f"{PREFIX}.{message}"), error
    assert error.endswith(f"(in {pyproject})")


def test_models_that_is_not_a_table_and_invalid_toml(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.jupyter-mlops]\nmodels = "credit-risk"\n')
    assert refused().startswith("tool.jupyter-mlops.models: must be a table of models, got text")
    write_pyproject(tmp_path, '[tool.jupyter-mlops.models]\ncredit-risk = ["x"]\n')
    assert refused().startswith(f"{PREFIX}: must be a table (mapping), got a list")
    pyproject = write_pyproject(tmp_path, "[tool.jupyter-mlops.models\n")
    assert refused().startswith(f"cannot read {pyproject}: ")


def test_bad_policy_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert refused(policy_file=missing) == f"--policy {missing}: no such file"
    file = tmp_path / "policy.yaml"
    file.write_text("- roc_auc\n- accuracy_score\n", encoding="utf-8")
    assert refused(policy_file=file) == (
        f"--policy {file}: must hold a mapping (protected_aliases, gates, or models), got a list"
    )
    file.write_text("", encoding="utf-8")
    assert refused(policy_file=file).endswith("got nothing")
    file.write_text("gates: {metrics: [roc_auc\n", encoding="utf-8")
    assert refused(policy_file=file).startswith(f"--policy {file}: not valid YAML: ")
    file.write_text("gate:\n  metrics: {}\n", encoding="utf-8")
    assert refused(policy_file=file) == (f"gate: unknown key; did you mean 'gates'? (in {file})")
    file.write_text("gates: {metrics: {f1: {min: 0.5}}}\n", encoding="utf-8")
    assert refused(policy_file=file) == (
        f"gates.metrics.f1: unknown metric; did you mean 'f1_score'? (in {file})"
    )
    file.write_text("models: {credit-risk: {gates: {bootstrap: 10}}}\n", encoding="utf-8")
    assert refused(policy_file=file).startswith("models.credit-risk.gates.bootstrap: must be")


def test_parse_gate_forms() -> None:
    assert parse_gate("roc_auc>=0.7").dotted == "gates.metrics.roc_auc.min"
    non_inferior = parse_gate(" roc_auc >= champion - 0.005 ")
    assert (non_inferior.dotted, non_inferior.value) == (
        "gates.metrics.roc_auc.max_drop_vs_champion",
        0.005,
    )
    assert parse_gate("roc_auc>=champion").value == 0.0
    assert parse_gate("log_loss<=0.45").dotted == "gates.metrics.log_loss.max"
    assert parse_gate("log_loss<=champion+0.01").dotted == (
        "gates.metrics.log_loss.max_drop_vs_champion"
    )
    assert parse_gate("demographic_parity_ratio>=0.8").dotted == (
        "gates.fairness.demographic_parity_ratio.min"
    )
    assert parse_gate("equalized_odds_difference<=0.1").dotted == (
        "gates.fairness.equalized_odds_difference.max"
    )
    assert parse_gate("score_psi_vs_champion<=0.25").dotted == (
        "gates.stability.score_psi_vs_champion.max"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("roc_auc", "expected NAME>=VALUE or NAME<=VALUE, e.g. roc_auc>=0.7"),
        ("roc_auc>0.7", "expected NAME>=VALUE or NAME<=VALUE (use >= or <=)"),
        ("roc_acu>=0.7", "unknown gate 'roc_acu'; did you mean 'roc_auc'?"),
        ("roc_auc>=high", "'high' is not a number (or champion-MARGIN)"),
        ("roc_auc>=nan", "'nan' is not a finite number"),
        ("roc_auc>=7", "roc_auc: must be from 0 to 1, got 7"),
        (
            "roc_auc<=champion+0.01",
            "higher roc_auc is better, so write it as roc_auc>=champion-0.005",
        ),
        ("roc_auc>=champion+0.01", "higher roc_auc is better"),
        (
            "log_loss>=champion-0.01",
            "lower log_loss is better, so write it as log_loss<=champion+0.005",
        ),
        ("roc_auc>=champion-x", "'x' is not a margin"),
        (
            "demographic_parity_ratio>=champion-0.1",
            "only evaluation metrics compare with the champion, not 'demographic_parity_ratio'",
        ),
        (
            "score_psi_vs_champion>=0.1",
            "score_psi_vs_champion: is an upper bound: write score_psi_vs_champion<=0.1",
        ),
        ("score_psi_vs_champion<=-0.1", "score_psi_vs_champion: must be 0 or more"),
    ],
)
def test_bad_gates_are_one_line_naming_the_gate(text: str, message: str) -> None:
    with pytest.raises(MlopsError) as caught:
        parse_gate(text)
    assert caught.value.code is ErrorCode.USAGE
    assert caught.value.message.startswith(f"--gate {text!r}: {message}"), caught.value.message


def test_command_line_gates_override_the_same_key_only(tmp_path: Path) -> None:
    pyproject = write_pyproject(tmp_path, CREDIT)
    policy = load_policy(
        "credit-risk",
        gates=[
            "roc_auc>=0.75",
            "f1_score>=0.5",
            "demographic_parity_ratio>=0.9",
            "score_psi_vs_champion<=0.2",
        ],
    )
    assert policy.sources == (
        str(pyproject),
        "--gate roc_auc>=0.75",
        "--gate f1_score>=0.5",
        "--gate demographic_parity_ratio>=0.9",
        "--gate score_psi_vs_champion<=0.2",
    )
    assert policy.metric("roc_auc") == MetricGate("roc_auc", 0.75, None, 0.005)  # drop kept
    assert policy.metric("f1_score") == MetricGate("f1_score", min=0.5)
    assert FairnessGate("demographic_parity_ratio", min=0.9) in policy.fairness.gates
    assert StabilityGate("score_psi_vs_champion", 0.2) in policy.stability.gates
    assert policy.fairness.sensitive == ("home_owner", "age_band")  # untouched

    only_cli = load_policy("fraud", gates=["roc_auc>=champion-0.005"])
    assert only_cli.metrics == (MetricGate("roc_auc", max_drop_vs_champion=0.005),)
    assert not only_cli.is_empty

    with pytest.raises(MlopsError) as caught:
        load_policy("credit-risk", gates=["roc_auc<=0.6"])
    assert caught.value.message == (
        "--gate 'roc_auc<=0.6': leaves gates.metrics.roc_auc with min 0.7 above max 0.6"
    )


def test_the_default_policy_in_the_docs_reads_the_same_from_toml_and_yaml(
    tmp_path: Path,
) -> None:
    page = (Path(__file__).parents[2] / "docs" / "validation.md").read_text(encoding="utf-8")
    toml_block = page.split("```toml\n", 1)[1].split("```", 1)[0]
    yaml_block = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    write_pyproject(tmp_path, toml_block)
    (tmp_path / "credit-policy.yaml").write_text(yaml_block, encoding="utf-8")

    from_toml = load_policy("credit-risk")
    from_yaml = load_policy("credit-risk", policy_file=tmp_path / "credit-policy.yaml")

    assert from_toml.to_dict()["gates"] == from_yaml.to_dict()["gates"]
    assert from_toml.protected_aliases == from_yaml.protected_aliases == ("champion",)
    assert len(from_toml.metrics) == 2 and from_toml.stability.slice is not None


def test_a_model_name_that_is_not_a_bare_key_is_quoted_in_the_path(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        """
        [tool.jupyter-mlops.models."credit.risk v2".gates]
        metrics.roc_auc = { min = 0.7 }
        bootstrap = 10
        """,
    )
    assert refused("credit.risk v2").startswith(
        'tool.jupyter-mlops.models."credit.risk v2".gates.bootstrap: must be from 100'
    )
