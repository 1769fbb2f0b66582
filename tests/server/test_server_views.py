"""What the read routes reply, through a real Jupyter server whose root is a *parent* of the
project (``root/project/pyproject.toml``, the notebook in ``project/notebooks/x.ipynb``): paths
are relative to the server root as the contract says, lineage tags are masked, a notebook's
models are queried (not filtered from the whole inventory) and a failing registry is a clear
error, not a 500."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient

import jupyter_mlops
from support.registry import DATA_CELL, REGISTER_LINE, fit_cell, run_ok

pytestmark = pytest.mark.slow

NOTEBOOK = "project/notebooks/x.ipynb"  # as the server (and the panel) names it
TAG = "notebooks/x.ipynb"  # as the runs record it: relative to the project root


@pytest.fixture
def session(jp_root_dir: Path, _migrated_store: Path) -> Iterator[InteractiveShell]:
    """A real shell recording ``project/notebooks/x.ipynb`` into the project's default store
    (``project/mlflow.db``), the server's root one folder above the project."""
    project = jp_root_dir / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    shutil.copyfile(_migrated_store, project / "mlflow.db")
    notebook = project / "notebooks" / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), notebook)
    ip = InteractiveShell.instance()
    ip.reset(new_session=True)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    try:
        ip.run_line_magic("mlops", f"init --notebook {notebook}")
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "jupyter_mlops")
        ip.reset(new_session=False)
        jupyter_mlops.reset()


@pytest.fixture
def registered(session: InteractiveShell, jp_root_dir: Path) -> MlflowClient:
    """``credit-risk`` versions 1 and 2 registered from the notebook, and ``other`` from
    another notebook of the same store; a client on that store."""
    run_ok(session, DATA_CELL)
    for c in (0.5, 0.1):
        run_ok(session, fit_cell(c))
        run_ok(session, REGISTER_LINE)
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'project' / 'mlflow.db'}")
    client.create_registered_model("other")
    client.create_model_version(
        "other", "file:///nowhere", tags={"mlops.notebook.path": "notebooks/y.ipynb"}
    )
    return client


async def test_paths_in_replies_are_relative_to_the_server_root(api, registered):
    notebook = {"notebook": NOTEBOOK}
    status, config = await api("GET", "config", params=notebook)
    assert status == 200, config
    assert config["notebook"] == NOTEBOOK and config["project_root"] == "project"
    status, page = await api("GET", "runs", params=notebook)
    assert status == 200, page
    assert page["notebook"] == NOTEBOOK and len(page["runs"]) == 2
    _, run = await api("GET", "runs", page["runs"][0]["run_id"], params=notebook)
    assert run["notebook"] == NOTEBOOK
    assert run["lineage"]["mlops.notebook.path"] == TAG, "tag values stay as recorded"
    _, listing = await api("GET", "models", params=notebook)
    assert listing["notebook"] == NOTEBOOK
    assert [(m["name"], m["source_notebook"]) for m in listing["models"]] == [
        ("credit-risk", NOTEBOOK)
    ]
    _, model = await api("GET", "models", "credit-risk", params=notebook)
    assert [v["source_notebook"] for v in model["versions"]] == [NOTEBOOK, NOTEBOOK]
    _, graph = await api("GET", "lineage", params={"model": "credit-risk", **notebook})
    paths = {n["attributes"]["notebook_path"] for n in graph["nodes"] if n["kind"] != "dataset"}
    assert paths == {NOTEBOOK}


async def test_a_notebooks_models_are_queried_not_filtered_from_the_inventory(
    api, registered, monkeypatch
):
    """Same reply as the inventory filtered to the notebook, but no unfiltered model scan."""
    searched: list[str | None] = []
    real = MlflowClient.search_registered_models

    def recording(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        searched.append(kwargs.get("filter_string", args[0] if args else None))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, "search_registered_models", recording)
    status, listing = await api("GET", "models", params={"notebook": NOTEBOOK})
    assert status == 200, listing
    (row,) = listing["models"]
    assert row["name"] == "credit-risk" and row["aliases"] == {"champion": "2"}
    assert row["latest_version"] == "2" and row["missing"] == []
    assert searched and all(f and "credit-risk" in f for f in searched), searched


async def test_model_detail_reports_a_failing_registry_as_such(api, registered, jp_root_dir):
    """A registry read that fails after the model was found (here: version 1's tags cannot
    be read) is the store's error with its cause, not an internal error."""
    database = sqlite3.connect(jp_root_dir / "project" / "mlflow.db")
    columns = [row[1] for row in database.execute("PRAGMA table_info(model_version_tags)")]
    failing = ", ".join(
        f"CASE WHEN version = 1 THEN abs(-9223372036854775807 - 1) ELSE {c} END AS {c}"
        if c == "value"
        else c
        for c in columns
    )
    database.executescript(
        "ALTER TABLE model_version_tags RENAME TO model_version_tags_stored;"
        f"CREATE VIEW model_version_tags AS SELECT {failing} FROM model_version_tags_stored;"
    )
    database.close()
    status, body = await api("GET", "models", "credit-risk", params={"notebook": NOTEBOOK})
    assert status == 503, body
    assert body["error"] == "tracking_unavailable"
    assert "cannot read model 'credit-risk'" in body["message"]
    assert "integer overflow" in body["message"]


async def test_run_detail_masks_secrets_in_lineage_tags(api, session, jp_root_dir):
    run_ok(session, "%%mlops run --name plain\ny = 2")
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'project' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("x").experiment_id])
    token = "ghp_" + "A1b2" * 9
    client.set_tag(run.info.run_id, "mlops.git.branch", f"fix/{token}")
    client.set_tag(run.info.run_id, "mlops.job.name", "sync https://ana:S3cret@db.example/x")
    status, detail = await api("GET", "runs", run.info.run_id, params={"notebook": NOTEBOOK})
    assert status == 200, detail
    lineage = detail["lineage"]
    assert token not in lineage["mlops.git.branch"] and "S3cret" not in lineage["mlops.job.name"]
    assert lineage["mlops.git.branch"] == detail["tags"]["mlops.git.branch"]
    assert lineage["mlops.job.name"] == detail["tags"]["mlops.job.name"]
    assert lineage["mlops.notebook.path"] == TAG
    assert token not in json.dumps(detail) and "S3cret" not in json.dumps(detail)
