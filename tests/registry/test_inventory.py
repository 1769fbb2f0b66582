"""``jupyter-mlops inventory``: every registered model with its inventory fields.

The module's registry holds three models: ``credit-risk`` (complete: owner, purpose, risk
tier and lineage; version 2 validated), ``churn`` (registered from the notebook without
owner, purpose or tier) and ``bare`` (created with plain MLflow: no lineage).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from mlflow import MlflowClient

import jupyter_mlops
from jupyter_mlops.core.registry.inventory import (
    INVENTORY_SCHEMA,
    REQUIRED_FIELDS,
    InventoryRow,
    build_inventory,
    inventory_rows,
)
from jupyter_mlops.core.types import ModelRow
from support.registry import (
    DATA_CELL,
    REGISTER_LINE,
    cli,
    copy_store,
    fit_cell,
    module_shell,
    run_ok,
    write_notebook,
)

INJECTED = '<img src="http://example.invalid/x.png">'


@dataclass(frozen=True)
class Registry:
    root: Path
    uri: str
    fit_cell_id: str  # the cell that fitted version 2 of credit-risk
    run_id: str  # version 2's run
    fingerprints: dict[str, str]
    acc: float  # version 2's metric


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> Registry:
    root = tmp_path_factory.mktemp("inventory")
    uri = copy_store(_migrated_store, root)
    cells = [
        DATA_CELL,
        fit_cell(0.5),
        REGISTER_LINE,
        fit_cell(1.0),
        "%mlops register model --name credit-risk --alias challenger",
        "%mlops register model --name churn",
    ]
    ids = write_notebook(root / "train.ipynb", cells)
    with module_shell(root, uri, root / "train.ipynb") as ip:
        for source, cell_id in zip(cells, ids, strict=True):
            run_ok(ip, source, cell_id)
        acc = ip.user_ns["acc"]
        fingerprints = {
            name: jupyter_mlops.fingerprint(ip.user_ns[name]) for name in ("X_train", "y_train")
        }
    client = MlflowClient(uri)
    client.set_model_version_tag("credit-risk", "2", "mlops.validation.status", "passed")
    client.create_registered_model("bare", tags={"mlops.purpose": INJECTED})
    client.create_model_version("bare", source=(root / "elsewhere").as_uri())
    run_id = client.get_model_version("credit-risk", "2").run_id
    return Registry(root, uri, ids[3], run_id, fingerprints, acc)


def _inventory(registry: Registry, *args: str) -> dict:
    result = cli("inventory", "--format", "json", *args, "--tracking-uri", registry.uri)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_has_every_field_of_every_model(registry):
    document = _inventory(registry)
    assert document["schema"] == INVENTORY_SCHEMA == "jupyter-mlops/inventory/1"
    assert document["required_fields"] == list(REQUIRED_FIELDS)
    assert document["store"] == registry.uri
    models = {m["name"]: m for m in document["models"]}
    assert [m["name"] for m in document["models"]] == ["bare", "churn", "credit-risk"]

    credit = models["credit-risk"]
    assert credit["latest_version"] == "2"
    assert credit["aliases"] == {"challenger": "2", "champion": "1"}
    assert credit["owner"] == "Retail risk team"
    assert credit["purpose"] == "retail credit scoring"
    assert credit["risk_tier"] == "2"
    assert credit["training_data"] == registry.fingerprints
    assert credit["source_notebook"] == "train.ipynb"
    assert credit["source_cell"] == registry.fit_cell_id
    assert credit["source_run_id"] == registry.run_id
    assert credit["key_metrics"] == {"acc": pytest.approx(registry.acc)}
    assert credit["validation"] == "passed"
    assert credit["missing"] == []
    registered = datetime.fromisoformat(credit["registered"])
    assert registered.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - registered) < timedelta(hours=1)

    churn = models["churn"]
    assert churn["validation"] == "unvalidated"
    assert churn["missing"] == ["owner", "purpose", "risk_tier"]
    assert churn["training_data"] == registry.fingerprints

    bare = models["bare"]
    assert bare["latest_version"] == "1"
    assert bare["purpose"] == INJECTED
    assert bare["training_data"] == {}
    assert bare["source_notebook"] is None and bare["source_cell"] is None
    assert bare["missing"] == ["owner", "risk_tier", "lineage"]
    assert bare["validation"] == "unvalidated"


def test_table_is_the_default(registry):
    result = cli("inventory", "--tracking-uri", registry.uri)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"3 registered model(s) in {registry.uri}; 2 missing required fields "
        "(owner, purpose, risk_tier, lineage)"
    )
    assert lines[2].split() == [
        "name",
        "latest",
        "aliases",
        "owner",
        "tier",
        "validation",
        "missing",
    ]
    rows = {line.split()[0]: line for line in lines[4:]}
    assert set(rows) == {"bare", "churn", "credit-risk"}
    assert "challenger=2,champion=1" in rows["credit-risk"]
    assert "passed" in rows["credit-risk"]
    assert rows["churn"].endswith("owner,purpose,risk_tier")


def test_csv_has_one_line_per_model(registry):
    result = cli("inventory", "--format", "csv", "--tracking-uri", registry.uri)
    assert result.exit_code == 0, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames == [
        "name",
        "latest_version",
        "aliases",
        "owner",
        "purpose",
        "risk_tier",
        "training_data",
        "source_notebook",
        "source_cell",
        "source_run_id",
        "registered",
        "key_metrics",
        "validation",
        "missing",
    ]
    rows = {row["name"]: row for row in reader}
    assert list(rows) == ["bare", "churn", "credit-risk"]
    credit = rows["credit-risk"]
    fingerprints = registry.fingerprints
    assert credit["training_data"] == (
        f"X_train={fingerprints['X_train']};y_train={fingerprints['y_train']}"
    )
    assert credit["aliases"] == "challenger=2;champion=1"
    assert credit["risk_tier"] == "2" and credit["missing"] == ""
    assert credit["source_cell"] == registry.fit_cell_id
    assert rows["bare"]["missing"] == "owner;risk_tier;lineage"
    assert rows["bare"]["purpose"] == INJECTED  # CSV keeps the text as it is


def test_html_is_a_self_contained_page(registry, tmp_path):
    page_file = tmp_path / "inventory.html"  # -o writes only into a folder that exists
    result = cli(
        "inventory", "--format", "html", "-o", str(page_file), "--tracking-uri", registry.uri
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"Wrote the inventory of 3 model(s) to {page_file}" in result.stderr
    page = page_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    for name in ("bare", "churn", "credit-risk", "Retail risk team", "retail credit scoring"):
        assert name in page
    assert page.count("<tr class=") == 3
    assert 'class="validation-passed">passed' in page
    # nothing is fetched from elsewhere, and text from the registry cannot inject any
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert not re.search(r"<(?:script|link|img|iframe|object|embed)\b", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    assert "&lt;img src=&quot;http://example.invalid/x.png&quot;&gt;" in page


def test_strict_fails_when_a_model_misses_a_required_field(registry):
    result = cli("inventory", "--strict", "--tracking-uri", registry.uri)
    assert result.exit_code == 1
    assert result.stdout.startswith("3 registered model(s)")  # the report is still printed
    assert result.stderr.splitlines() == [
        "jupyter-mlops: bare: missing owner, risk_tier, lineage",
        "jupyter-mlops: churn: missing owner, purpose, risk_tier",
        "jupyter-mlops: error: 2 of 3 model(s) miss required inventory fields",
    ]


def test_strict_passes_when_every_model_is_complete(registry, tmp_path):
    database = tmp_path / "complete.db"
    shutil.copyfile(registry.uri.removeprefix("sqlite:///"), database)
    uri = f"sqlite:///{database}"
    client = MlflowClient(uri)
    client.delete_registered_model("churn")
    client.delete_registered_model("bare")

    result = cli("inventory", "--strict", "--tracking-uri", uri)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "1 registered model(s)" in result.stdout and "; 0 missing" in result.stdout


def test_strict_passes_on_an_empty_registry(tracking_uri):
    result = cli("inventory", "--strict", "--tracking-uri", tracking_uri)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("0 registered model(s)")


def test_a_model_without_versions_misses_everything(client, tracking_uri):
    client.create_registered_model("empty")
    result = cli("inventory", "--format", "json", "--tracking-uri", tracking_uri)
    assert result.exit_code == 0, result.stderr
    [model] = json.loads(result.stdout)["models"]
    assert model["latest_version"] is None and model["registered"] is None
    assert model["missing"] == ["owner", "purpose", "risk_tier", "lineage"]
    table = cli("inventory", "--tracking-uri", tracking_uri).stdout.splitlines()
    assert table[-1].split() == [
        "empty",
        "-",
        "-",
        "-",
        "-",
        "unvalidated",
        "owner,purpose,risk_tier,lineage",
    ]


def test_strict_on_a_missing_database_fails_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo.db"
    result = cli("inventory", "--strict", "--tracking-uri", f"sqlite:///{missing}")
    assert not missing.exists()
    assert result.exit_code == 1


def test_a_model_registered_without_a_known_notebook_misses_lineage(shell, client, tracking_uri):
    run_ok(shell, DATA_CELL)
    run_ok(shell, fit_cell(0.5))
    run_ok(shell, REGISTER_LINE)  # owner, purpose and tier given; the notebook is unknown
    result = cli("inventory", "--strict", "--format", "json", "--tracking-uri", tracking_uri)
    assert result.exit_code == 1
    [model] = json.loads(result.stdout)["models"]
    assert model["missing"] == ["lineage"]
    assert model["source_notebook"] is None
    assert set(model["training_data"]) == {"X_train", "y_train"}
    assert "jupyter-mlops: credit-risk: missing lineage" in result.stderr


def test_python_api_returns_the_same_rows(registry):
    jupyter_mlops.init(tracking_uri=registry.uri, experiment="tests")
    found = jupyter_mlops.inventory()
    assert [row.name for row in found.rows] == ["bare", "churn", "credit-risk"]
    assert [row.name for row in found.incomplete] == ["bare", "churn"]
    credit = found.rows[2]
    assert credit.complete and credit.validation == "passed"
    assert json.loads(found.to_json())["models"] == _inventory(registry)["models"]


def test_unknown_format_is_a_usage_error(registry):
    result = cli("inventory", "--format", "xml", "--tracking-uri", registry.uri)
    assert result.exit_code == 2
    assert "'xml' is not one of 'table', 'csv', 'json', 'html'" in result.stderr


def test_command_line_program_reads_the_store_from_the_environment(registry, tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-mlops"),
            "inventory",
            "--strict",
            "--format",
            "json",
        ],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": registry.uri},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert [m["name"] for m in json.loads(result.stdout)["models"]] == [
        "bare",
        "churn",
        "credit-risk",
    ]
    assert result.stderr.splitlines()[-1].startswith("jupyter-mlops: error: 2 of 3 model(s)")
    assert "Traceback" not in result.stderr


def test_one_row_shape_the_rows_json_is_the_rest_contracts_model_row(registry):
    """InventoryRow's fields are ModelRow's keys, in order, and ``to_dict`` writes exactly them."""
    assert [f.name for f in fields(InventoryRow)] == list(ModelRow.__annotations__)
    rows = build_inventory(MlflowClient(registry.uri), "store").rows
    assert [list(row.to_dict()) for row in rows] == [list(ModelRow.__annotations__)] * len(rows)


def test_rows_of_named_models_are_the_inventorys_rows(registry):
    client = MlflowClient(registry.uri)
    whole = build_inventory(client, "store").rows
    picked = inventory_rows(client, ["credit-risk", "bare", "no-such-model", "credit-risk"])
    assert picked == tuple(row for row in whole if row.name in ("bare", "credit-risk"))
