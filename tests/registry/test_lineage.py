"""Lineage of a model version: ``%mlops lineage``, ``jupyter_mlops.lineage`` and the CLI.

One registry is built for the module from two saved, committed notebooks (``train.ipynb``
registers versions 1 and 2 of ``credit-risk`` and version 1 of ``churn``; ``other.ipynb``
registers version 3 of ``credit-risk``); the tests only read it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from mlflow import MlflowClient

import jupyter_mlops
from jupyter_mlops.core.registry.lineage.graph import LINEAGE_SCHEMA, LineageGraph
from support.registry import (
    DATA_CELL,
    REGISTER_LINE,
    cli,
    copy_store,
    fit_cell,
    git_commit_all,
    module_shell,
    run_ok,
    write_notebook,
)

JUPYTER_MLOPS = Path(sys.executable).parent / "jupyter-mlops"


@dataclass(frozen=True)
class Registry:
    uri: str
    commit: str
    train_cells: list[str]  # cell ids of train.ipynb
    other_cells: list[str]
    fit_count: int  # In [n] of the cell that fitted version 1
    run_ids: dict[str, str]  # version -> run id
    fingerprints: dict[str, str]  # X_train / y_train
    acc: float  # version 1's metric


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> Registry:
    root = tmp_path_factory.mktemp("lineage")
    uri = copy_store(_migrated_store, root)
    train = [
        DATA_CELL,
        fit_cell(0.5),
        REGISTER_LINE,
        fit_cell(1.0),
        "%mlops register model --name credit-risk --alias challenger",
        "%mlops register model --name churn",
    ]
    other = [DATA_CELL, fit_cell(2.0), "%mlops register model --name credit-risk"]
    train_cells = write_notebook(root / "train.ipynb", train)
    other_cells = write_notebook(root / "other.ipynb", other)
    commit = git_commit_all(root)
    with module_shell(root, uri, root / "train.ipynb") as ip:
        run_ok(ip, train[0], train_cells[0])
        fit_count = run_ok(ip, train[1], train_cells[1]).execution_count
        acc = ip.user_ns["acc"]
        for source, cell_id in list(zip(train, train_cells, strict=True))[2:]:
            run_ok(ip, source, cell_id)
        run_ok(ip, f"%mlops init --notebook {root / 'other.ipynb'}")
        for source, cell_id in list(zip(other, other_cells, strict=True))[1:]:
            run_ok(ip, source, cell_id)
        fingerprints = {
            name: jupyter_mlops.fingerprint(ip.user_ns[name]) for name in ("X_train", "y_train")
        }
    client = MlflowClient(uri)
    run_ids = {
        str(v.version): v.run_id for v in client.search_model_versions("name = 'credit-risk'")
    }
    assert len(set(run_ids.values())) == 3
    return Registry(uri, commit, train_cells, other_cells, fit_count, run_ids, fingerprints, acc)


@pytest.fixture
def connected(registry: Registry) -> Registry:
    """The fluent API pointed at the module's registry."""
    jupyter_mlops.init(tracking_uri=registry.uri, experiment="tests")
    return registry


def _edges(graph: LineageGraph) -> set[tuple[str, str, str]]:
    return {(e.kind, e.source, e.target) for e in graph.edges}


def test_magic_returns_data_run_and_version_with_their_attributes(shell, registry):
    shell.run_line_magic("mlops", f"init --tracking-uri {registry.uri} --experiment tests")
    graph = shell.run_line_magic("mlops", "lineage credit-risk@champion")

    assert isinstance(graph, LineageGraph)
    assert graph.root == "model_version:credit-risk/1"
    datasets = {n.attributes["name"]: n for n in graph.of_kind("dataset")}
    assert set(datasets) == {"X_train", "y_train"}
    for name, node in datasets.items():
        assert node.attributes["fingerprint"] == registry.fingerprints[name]
        assert node.attributes["rows"] == 240
        assert node.id == f"dataset:{name}@{registry.fingerprints[name]}"

    [run] = graph.of_kind("run")
    assert run.id == f"run:{registry.run_ids['1']}"
    attributes = run.attributes
    assert attributes["notebook_path"] == "train.ipynb"
    assert attributes["cell_id"] == registry.train_cells[1]
    assert attributes["execution_count"] == registry.fit_count
    assert attributes["commit"] == registry.commit
    # (the shared shell's input history may hold another test's papermill parameters)
    assert attributes["params"] == MlflowClient(registry.uri).get_run(run.id[4:]).data.params
    assert attributes["params"]["C"] == "0.5"
    assert attributes["metrics"] == {"acc": pytest.approx(registry.acc)}

    root = graph.node(graph.root)
    assert root.kind == "model_version"
    assert root.attributes["aliases"] == ["champion"]
    assert root.attributes["version"] == "1"
    assert root.attributes["notebook_path"] == "train.ipynb"
    assert root.attributes["commit"] == registry.commit

    run_id = run.id
    assert _edges(graph) == {
        ("input", datasets["X_train"].id, run_id),
        ("input", datasets["y_train"].id, run_id),
        ("produced", run_id, graph.root),
        ("same_notebook", graph.root, "model_version:credit-risk/2"),
    }


def test_siblings_are_versions_of_the_same_model_from_the_same_notebook(connected):
    graph = jupyter_mlops.lineage("credit-risk/2")
    versions = {n.id: n for n in graph.of_kind("model_version")}
    # version 3 came from other.ipynb, churn is another model: neither is a sibling
    assert set(versions) == {"model_version:credit-risk/2", "model_version:credit-risk/1"}
    assert versions["model_version:credit-risk/2"].attributes["aliases"] == ["challenger"]
    assert versions["model_version:credit-risk/1"].attributes["aliases"] == ["champion"]
    assert [e for e in _edges(graph) if e[0] == "same_notebook"] == [
        ("same_notebook", "model_version:credit-risk/2", "model_version:credit-risk/1")
    ]
    [run] = graph.of_kind("run")
    assert run.attributes["cell_id"] == connected.train_cells[3]
    assert run.attributes["params"]["C"] == "1.0"


def test_a_version_from_another_notebook_has_no_siblings(connected):
    graph = jupyter_mlops.lineage("credit-risk/3")
    assert [n.id for n in graph.of_kind("model_version")] == ["model_version:credit-risk/3"]
    assert "same_notebook" not in {e.kind for e in graph.edges}
    [run] = graph.of_kind("run")
    assert run.attributes["notebook_path"] == "other.ipynb"
    assert run.attributes["cell_id"] == connected.other_cells[1]


@pytest.mark.parametrize(
    ("ref", "root"),
    [
        ("credit-risk", "model_version:credit-risk/3"),  # no alias or version: the latest
        ("models:/credit-risk/2", "model_version:credit-risk/2"),
        ("credit-risk@challenger", "model_version:credit-risk/2"),
        ("churn", "model_version:churn/1"),
    ],
)
def test_refs_name_the_version(connected, ref, root):
    assert jupyter_mlops.lineage(ref).root == root


def test_renders_as_svg_in_notebooks_and_as_text_elsewhere(connected):
    graph = jupyter_mlops.lineage("credit-risk@champion")
    page = graph._repr_html_()
    assert "<svg" in page and "</svg>" in page
    assert page.count('class="jm-node') == len(graph.nodes)
    assert "credit-risk version 1" in page
    assert "<script" not in page
    text = repr(graph)
    assert text.startswith("Lineage of credit-risk version 1")
    for fragment in (
        "X_train: fingerprint " + connected.fingerprints["X_train"][:12],
        "240 rows",
        "train.ipynb",
        f"commit {connected.commit[:12]}",
        "C=0.5",
        "aliases: champion",
        "validation: unvalidated",
        "same notebook:",
        "credit-risk version 2",
    ):
        assert fragment in text, fragment


def test_cli_json_follows_the_documented_schema(connected, tmp_path):
    result = subprocess.run(
        [str(JUPYTER_MLOPS), "lineage", "credit-risk@champion", "--json"],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": connected.uri},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == LINEAGE_SCHEMA == "jupyter-mlops/lineage/1"
    assert document["root"] == "model_version:credit-risk/1"
    assert all(set(node) == {"kind", "id", "attributes"} for node in document["nodes"])
    assert all(set(edge) == {"kind", "source", "target"} for edge in document["edges"])
    assert {n["kind"] for n in document["nodes"]} == {"dataset", "run", "model_version"}
    assert {e["kind"] for e in document["edges"]} == {"input", "produced", "same_notebook"}
    ids = {n["id"] for n in document["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in document["edges"])
    assert document == jupyter_mlops.lineage("credit-risk@champion").to_dict()


def test_cli_text_rendering(connected):
    result = cli("lineage", "credit-risk/2", "--tracking-uri", connected.uri)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Lineage of credit-risk version 2")
    assert "aliases: challenger" in result.stdout


@pytest.mark.parametrize(
    ("ref", "code", "message"),
    [
        ("credit-risk@champoin", 1, "model 'credit-risk' has no alias 'champoin'; did you mean"),
        ("credit-rsk@champion", 1, "no registered model 'credit-rsk'; did you mean 'credit-risk'"),
        ("credit-risk/9", 1, "model 'credit-risk' has no version 9; versions: 1, 2, 3"),
        ("credit-risk@", 2, "'credit-risk@': expected MODEL@ALIAS"),
        ("credit-risk/latest", 2, "expected MODEL/VERSION with a version number"),
    ],
)
def test_unknown_or_malformed_refs(connected, shell, ref, code, message):
    result = cli("lineage", ref, "--tracking-uri", connected.uri)
    assert result.exit_code == code
    assert result.stdout == ""
    [line] = result.stderr.splitlines()  # one line, no traceback
    assert line.startswith("jupyter-mlops: error: ")
    assert message in line
    shell.run_line_magic("mlops", f"init --tracking-uri {connected.uri} --experiment tests")
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic("mlops", f"lineage {ref}")
    assert message in str(raised.value)


def test_close_matches_name_the_alias(connected):
    result = cli("lineage", "credit-risk@champoin", "--tracking-uri", connected.uri)
    assert "did you mean 'champion'?" in result.stderr


def test_execution_count_of_a_cell_ending_with_a_newline(shell, client):
    result = run_ok(shell, "%%mlops run --no-autolog\nx = 1\n")
    [run] = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert run.data.tags["mlops.cell.execution_count"] == str(result.execution_count)
