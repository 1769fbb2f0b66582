"""The read routes of the server extension, through a real Jupyter server (pytest-jupyter)
with unauthenticated access disabled, on runs and models recorded by the real magics."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

import jupyter_mlops
from jupyter_mlops.core import types as contract
from support.registry import DATA_CELL, REGISTER_LINE, fit_cell, run_ok

pytestmark = pytest.mark.slow


def assert_shape(body: Any, model: Any) -> None:
    """``body`` has exactly the keys of the contract's TypedDict ``model``."""
    hints = typing.get_type_hints(model)
    assert isinstance(body, dict), body
    assert set(body) == set(hints), (model.__name__, set(body) ^ set(hints))


def _notebook(path: Path) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    return path


@pytest.fixture
def recorded(jp_root_dir: Path, _migrated_store: Path) -> dict[str, Any]:
    """Five runs of ``a.ipynb`` (the last fitting and registering ``credit-risk`` twice, alias
    moved), one run of ``sub/b.ipynb``, all in the root's default store, by the real magics."""
    import shutil

    shutil.copyfile(_migrated_store, jp_root_dir / "mlflow.db")
    (jp_root_dir / "pyproject.toml").write_text('[project]\nname = "p"\n')  # the project root
    (jp_root_dir / "sub").mkdir()
    a, b = _notebook(jp_root_dir / "a.ipynb"), _notebook(jp_root_dir / "sub" / "b.ipynb")
    uri = f"sqlite:///{jp_root_dir / 'mlflow.db'}"
    ip = InteractiveShell.instance()
    ip.reset(new_session=True)  # no history of earlier tests (papermill's injected cells)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    try:
        ip.run_line_magic("mlops", f"init --tracking-uri {uri} --notebook {a}")
        for i in range(3):
            run_ok(
                ip,
                f"%%mlops run --name plain-{i} --params i --metrics score\ni = {i}\nscore = i / 10",
            )
        run_ok(ip, DATA_CELL)
        run_ok(ip, fit_cell(0.5))
        run_ok(ip, REGISTER_LINE)
        run_ok(ip, fit_cell(0.1))
        run_ok(ip, REGISTER_LINE.replace("--alias champion", "--alias champion --reason better"))
        jupyter_mlops.reset()
        ip.run_line_magic("mlops", f"init --tracking-uri {uri} --notebook {b}")
        run_ok(ip, "%%mlops run --name other\ny = 2")
    finally:
        ip.run_line_magic("unload_ext", "jupyter_mlops")
        ip.reset(new_session=False)
        jupyter_mlops.reset()
    return {"root": jp_root_dir, "a": a, "b": b}


async def test_config_names_the_store_without_creating_it(api, jp_root_dir):
    _notebook(jp_root_dir / "new.ipynb")
    status, body = await api("GET", "config", params={"notebook": "new.ipynb"})
    assert status == 200, body
    assert_shape(body, contract.ConfigReply)
    assert body["experiment"] == "new"
    assert body["store_exists"] is False
    assert body["project_root"] == ""
    assert body["tracking_uri"].endswith("/mlflow.db")
    status, runs = await api("GET", "runs", params={"notebook": "new.ipynb"})
    assert status == 200 and runs["runs"] == [] and runs["next_page_token"] is None
    status, models = await api("GET", "models", params={"notebook": "new.ipynb"})
    assert status == 200 and models["models"] == []
    assert not (jp_root_dir / "mlflow.db").exists(), "a read created the store"


async def test_runs_of_each_notebook_newest_first_in_stable_pages(api, recorded):
    status, page = await api("GET", "runs", params={"notebook": "a.ipynb", "limit": "2"})
    assert status == 200, page
    assert_shape(page, contract.RunPageReply)
    seen = []
    while True:
        for row in page["runs"]:
            assert_shape(row, contract.RunSummary)
        seen += page["runs"]
        if not page["next_page_token"]:
            break
        status, page = await api(
            "GET",
            "runs",
            params={"notebook": "a.ipynb", "limit": "2", "page_token": page["next_page_token"]},
        )
        assert status == 200, page
    names = [r["name"] for r in seen]
    assert len(seen) == 5 and len({r["run_id"] for r in seen}) == 5, names
    assert names[-3:] == ["plain-2", "plain-1", "plain-0"]
    starts = [r["start_time"] for r in seen]
    assert starts == sorted(starts, reverse=True)
    plain = seen[-1]
    assert plain["key_params"] == ["i"] and plain["params"]["i"] == "0"
    assert plain["metrics"]["score"] == 0.0 and plain["cell_id"] is None
    fitted = [r for r in seen if r["has_model"]]
    assert len(fitted) == 2, "the two registered fits have logged models"
    status, other = await api("GET", "runs", params={"notebook": "sub/b.ipynb"})
    assert [r["name"] for r in other["runs"]] == ["other"]
    assert other["notebook"] == "sub/b.ipynb"


async def test_run_detail_has_datasets_artifacts_and_lineage(api, recorded):
    _, page = await api("GET", "runs", params={"notebook": "a.ipynb"})
    fitted = next(r for r in page["runs"] if r["has_model"])
    status, run = await api("GET", "runs", fitted["run_id"], params={"notebook": "a.ipynb"})
    assert status == 200, run
    assert_shape(run, contract.RunDetailReply)
    assert {d["name"] for d in run["datasets"]} >= {"X_train", "y_train"}
    x_train = next(d for d in run["datasets"] if d["name"] == "X_train")
    assert x_train["context"] == "training" and x_train["rows"] == 240 and x_train["columns"] == 3
    assert len(x_train["digest"]) >= 16
    assert run["lineage"]["mlops.notebook.path"] == "a.ipynb"
    assert run["notebook"] == "a.ipynb" and run["mlflow_url"] is None
    assert any(a["path"].startswith("code") for a in run["artifacts"]), run["artifacts"]


async def test_run_detail_links_to_a_configured_mlflow_ui(api, recorded, jp_serverapp):
    jp_serverapp.web_app.settings["jupyter_mlops"].mlflow_ui_url = "http://127.0.0.1:5000/"
    _, page = await api("GET", "runs", params={"notebook": "a.ipynb"})
    run_id = page["runs"][0]["run_id"]
    _, run = await api("GET", "runs", run_id, params={"notebook": "a.ipynb"})
    assert run["mlflow_url"] == (
        f"http://127.0.0.1:5000/#/experiments/{run['experiment_id']}/runs/{run_id}"
    )


async def test_models_detail_ledger_and_lineage(api, recorded):
    status, listing = await api("GET", "models", params={"notebook": "a.ipynb"})
    assert status == 200, listing
    assert_shape(listing, contract.ModelListReply)
    (row,) = listing["models"]
    assert_shape(row, contract.ModelRow)
    assert row["name"] == "credit-risk" and row["aliases"] == {"champion": "2"}
    _, none = await api("GET", "models", params={"notebook": "sub/b.ipynb"})
    assert none["models"] == []
    status, model = await api("GET", "models", "credit-risk", params={"notebook": "a.ipynb"})
    assert status == 200, model
    assert_shape(model, contract.ModelDetailReply)
    assert [v["version"] for v in model["versions"]] == ["2", "1"]
    assert model["versions"][0]["aliases"] == ["champion"]
    assert model["owner"] == "Retail risk team" and model["risk_tier"] == "2"
    for entry in model["ledger"]:
        assert_shape(entry, contract.LedgerEntry)
    assert [(e["from_version"], e["to_version"]) for e in model["ledger"]] == [
        ("1", "2"),
        (None, "1"),
    ]
    assert model["ledger"][0]["reason"] == "better"
    status, graph = await api(
        "GET", "lineage", params={"model": "credit-risk", "ref": "@champion", "notebook": "a.ipynb"}
    )
    assert status == 200, graph
    assert_shape(graph, contract.LineageReply)
    assert graph["root"] == "model_version:credit-risk/2"
    assert {n["kind"] for n in graph["nodes"]} == {"dataset", "run", "model_version"}
    _, first = await api("GET", "lineage", params={"model": "credit-risk", "ref": "1"})
    assert first["root"] == "model_version:credit-risk/1"


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        (("runs",), {}, 400, "notebook"),
        (("runs",), {"notebook": "a.ipynb", "limit": "0"}, 400, "limit"),
        (("runs",), {"notebook": "a.ipynb", "limit": "many"}, 400, "limit"),
        (("runs",), {"notebook": "a.ipynb", "page_token": "garbage"}, 400, "page_token"),
        (("runs", "0" * 32), {"notebook": "a.ipynb"}, 404, "no run"),
        (("runs", "not-a-run"), {"notebook": "a.ipynb"}, 404, "no run"),
        (("models", "credit-rsk"), {}, 404, "credit-risk"),
        (("lineage",), {"ref": "@champion"}, 400, "model"),
        (("lineage",), {"model": "credit-risk", "ref": "@nope"}, 404, "alias"),
        (("lineage",), {"model": "credit-risk", "ref": "x1"}, 400, "version"),
        (("config",), {"notebook": "missing.ipynb"}, 404, "no file"),
        (("config",), {"notebook": "a.txt"}, 400, ".ipynb"),
    ],
)
async def test_bad_requests_get_a_clear_json_error(api, recorded, path, params, status, words):
    code, body = await api("GET", *path, params=params)
    assert code == status, body
    assert_shape(body, contract.ErrorReply)
    assert words in body["message"], body
    assert "Traceback" not in body["message"]
