"""Server speed: the panel's routes on a store of 10,000 runs across 20 notebooks, and the
time from opening the panel to its first page of runs in a real browser.

The store: 20 notebooks ``nb00.ipynb`` ... ``nb19.ipynb`` in a project folder, 500 runs each
in the notebook's own experiment (the default, named after the notebook), every run tagged as
``%%mlops run`` tags it (``mlops.notebook.path``, ``mlops.cell.id``, ``mlops.params.keys``,
``mlops.metrics.keys``, ``mlflow.runName``, git commit) with 4 params and 3 metrics. They are
written in bulk through MLflow's own SQLAlchemy models (one transaction per notebook): writing
10,000 runs one client call at a time takes many minutes on SQLite, and what the routes read
is the same rows either way. One registered model, ``credit-risk``, has 10 versions from
``nb00``'s runs with lineage tags and ``@champion``, written through ``MlflowClient``. The
store is built once per jupyter-mlops version and reused from the temporary folder (the
output says so).

Then a real ``jupyter lab`` (our extension enabled by the install) serves the project on
127.0.0.1, and from this process, with plain ``urllib``:

1. ``GET runs?notebook=nbXX.ipynb&limit=20`` round-robin over the notebooks, first pages and
   second pages (``page_token``): median and p95 (target: p95 at most 200 ms);
2. ``GET lineage?model=credit-risk&ref=@champion``: median and p95 (target: at most 100 ms);
3. ``GET runs/RUN_ID`` and ``GET models?notebook=`` for information;
4. for comparison, the same first-page query made in-process with ``MlflowClient.search_runs``
   (the ratio is HTTP + our code over raw MLflow);
5. in Debian's headless Chromium (Playwright), the time from clicking the MLOps tab to the
   first run row being visible, on a freshly loaded page, 5 times (target: at most 1 s).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._common import Result, Target, median

__all__ = ["NAME", "run"]

NAME = "server_speed"
NOTEBOOKS = 20
RUNS_PER_NOTEBOOK = 500
VERSIONS = 10
CHROMIUM = Path("/usr/bin/chromium")
_TOKEN = "benchmark-token"


def _p95(values: list[float]) -> float:
    return float(statistics.quantiles(values, n=20)[-1]) if len(values) >= 20 else max(values)


def _project() -> tuple[Path, float | None]:
    """The project folder with its store; (folder, seconds spent filling, None if reused)."""
    from jupyter_mlops import __version__

    folder = Path(tempfile.gettempdir()) / f"jupyter-mlops-bench-server-{__version__}-v2"
    if (folder / "ready").exists():
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    _fill(folder)
    (folder / "ready").write_text("ok")
    return folder, time.perf_counter() - started


def _fill(folder: Path) -> None:
    import nbformat
    from mlflow import MlflowClient
    from mlflow.store.tracking.dbmodels import models as db
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    (folder / "pyproject.toml").write_text('[project]\nname = "bench"\n')
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri)
    now = int(time.time() * 1000) - NOTEBOOKS * RUNS_PER_NOTEBOOK * 1000
    engine = create_engine(uri)
    for index in range(NOTEBOOKS):
        name = f"nb{index:02d}"
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        # a kernelspec, or JupyterLab asks which kernel to start (a dialog over the page)
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(notebook, folder / f"{name}.ipynb")
        experiment = client.create_experiment(
            name, artifact_location=(folder / "mlruns" / name).as_uri()
        )
        rows: list[Any] = []
        for number in range(RUNS_PER_NOTEBOOK):
            run_id = uuid.uuid4().hex
            start = now + (index * RUNS_PER_NOTEBOOK + number) * 1000
            rows.append(
                db.SqlRun(
                    run_uuid=run_id,
                    name=f"{name}-run-{number}",
                    source_type="NOTEBOOK",
                    source_name=f"{name}.ipynb",
                    entry_point_name="",
                    user_id="bench",
                    status="FINISHED",
                    start_time=start,
                    end_time=start + 900,
                    source_version="",
                    lifecycle_stage="active",
                    artifact_uri=(folder / "mlruns" / name / run_id / "artifacts").as_uri(),
                    experiment_id=int(experiment),
                )
            )
            tags = {
                "mlflow.runName": f"{name}-run-{number}",
                "mlflow.user": "bench",
                "mlflow.source.type": "NOTEBOOK",
                "mlflow.source.name": f"{name}.ipynb",
                "mlflow.source.git.commit": "0" * 40,
                "mlops.notebook.path": f"{name}.ipynb",
                "mlops.cell.id": f"cell-{number % 7}",
                "mlops.cell.execution_count": str(number),
                "mlops.params.keys": "C,seed",
                "mlops.metrics.keys": "auc,accuracy",
                "mlops.version": "0.1.0",
            }
            rows += [db.SqlTag(key=k, value=v, run_uuid=run_id) for k, v in tags.items()]
            params = {
                "C": str(1 / (1 + number)),
                "seed": str(number),
                "test_size": "0.25",
                "n": "5000",
            }
            rows += [db.SqlParam(key=k, value=v, run_uuid=run_id) for k, v in params.items()]
            for key, value in {
                "auc": 0.7 + number / 10_000,
                "accuracy": 0.75,
                "log_loss": 0.5,
            }.items():
                for model in (db.SqlMetric, db.SqlLatestMetric):
                    rows.append(
                        model(
                            key=key,
                            value=value,
                            timestamp=start,
                            step=0,
                            is_nan=False,
                            run_uuid=run_id,
                        )
                    )
        with Session(engine) as session:
            session.add_all(rows)
            session.commit()
    engine.dispose()
    experiment = client.get_experiment_by_name("nb00")
    sources = client.search_runs(
        [experiment.experiment_id], max_results=VERSIONS, order_by=["attributes.start_time DESC"]
    )
    client.create_registered_model(
        "credit-risk",
        tags={"mlops.owner": "bench", "mlops.purpose": "bench", "mlops.risk_tier": "2"},
    )
    for source in sources:
        client.create_model_version(
            "credit-risk",
            source=source.info.artifact_uri + "/model",
            run_id=source.info.run_id,
            tags={
                "mlops.source.run_id": source.info.run_id,
                "mlops.notebook.path": "nb00.ipynb",
                "mlops.cell.id": source.data.tags["mlops.cell.id"],
                "mlops.data.X_train.fingerprint": "f" * 32,
                "mlops.data.X_train.rows": "3750",
                "mlops.params": json.dumps(source.data.params),
                "mlops.metrics": json.dumps(source.data.metrics),
            },
        )
    client.set_registered_model_alias("credit-risk", "champion", str(VERSIONS))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _lab(folder: Path) -> Iterator[str]:
    settings = folder / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true", JUPYTERLAB_SETTINGS_DIR=str(folder / ".lab-settings")
    )
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        f"--IdentityProvider.token={_TOKEN}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={folder}",
    ]
    with (folder / "lab.log").open("w") as log:
        server = subprocess.Popen(
            command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/api/status?token={_TOKEN}", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(
                            "jupyter lab did not start; see " + str(folder / "lab.log")
                        ) from None
                    time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _get(url: str, path: str) -> tuple[float, Any]:
    request = urllib.request.Request(
        f"{url}/jupyter-mlops/api/{path}", headers={"Authorization": f"token {_TOKEN}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    return time.perf_counter() - started, body


def _panel_first_page(url: str, rounds: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        for index in range(rounds):
            page.goto(f"{url}/lab/tree/nb{index % NOTEBOOKS:02d}.ipynb?token={_TOKEN}&reset")
            page.wait_for_selector("#jupyterlab-splash", state="detached")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
            tab = page.locator(
                ".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='jupyter-mlops-panel']"
            )
            if "lm-mod-current" in (tab.get_attribute("class") or ""):
                tab.click()  # restored open: close it first so opening is what we time
                page.wait_for_selector("#jupyter-mlops-panel", state="hidden")
            started = time.perf_counter()
            tab.click()
            page.wait_for_selector("#jupyter-mlops-panel .jp-mlops-run-row", state="visible")
            times.append(time.perf_counter() - started)
        browser.close()
    return times


def run(quick: bool) -> list[Result]:
    folder, filled = _project()
    results = [
        Result(
            NAME,
            "store: 10,000 runs x 20 notebooks (bulk ORM insert)",
            filled or 0.0,
            "s",
            detail="built now" if filled else f"reused from {folder}",
        )
    ]
    rounds = 40 if quick else 160
    with _lab(folder) as url:
        for index in range(5):  # warm-up: imports, the client cache, SQLite's page cache
            _get(url, f"runs?notebook=nb{index:02d}.ipynb&limit=20")
            _get(url, "lineage?model=credit-risk&ref=%40champion&notebook=nb00.ipynb")
        first, second, lineage = [], [], []
        for index in range(rounds):
            notebook = f"nb{index % NOTEBOOKS:02d}.ipynb"
            seconds, page = _get(url, f"runs?notebook={notebook}&limit=20")
            assert len(page["runs"]) == 20 and page["next_page_token"], page
            first.append(seconds)
            token = urllib.request.quote(page["next_page_token"])
            seconds, more = _get(url, f"runs?notebook={notebook}&limit=20&page_token={token}")
            assert (
                len(more["runs"]) == 20 and more["runs"][0]["run_id"] != page["runs"][0]["run_id"]
            )
            second.append(seconds)
            seconds, graph = _get(
                url, "lineage?model=credit-risk&ref=%40champion&notebook=nb00.ipynb"
            )
            assert graph["root"] == f"model_version:credit-risk/{VERSIONS}", graph["root"]
            lineage.append(seconds)
        run_id = page["runs"][0]["run_id"]
        detail = [_get(url, f"runs/{run_id}?notebook=nb00.ipynb")[0] for _ in range(20)]
        models = [_get(url, "models?notebook=nb00.ipynb")[0] for _ in range(20)]
        runs = first + second
        results += [
            Result(
                NAME,
                "GET runs?notebook= (20 per page) p95",
                _p95(runs),
                "s",
                Target("<=", 0.2),
                detail=f"median {median(runs) * 1000:.0f} ms, {len(runs)} requests, pages 1 and 2",
            ),
            Result(NAME, "GET runs?notebook= first page median", median(first), "s"),
            Result(NAME, "GET runs?notebook= second page median", median(second), "s"),
            Result(
                NAME,
                "GET lineage (10 versions) p95",
                _p95(lineage),
                "s",
                Target("<=", 0.1),
                detail=f"median {median(lineage) * 1000:.0f} ms",
            ),
            Result(NAME, "GET runs/RUN_ID median", median(detail), "s"),
            Result(NAME, "GET models?notebook= median", median(models), "s"),
        ]
        results.append(_in_process_ratio(folder, median(first)))
        if CHROMIUM.exists():
            panel = _panel_first_page(url, 3 if quick else 5)
            results.append(
                Result(
                    NAME,
                    "panel: click the tab -> first run row visible (max)",
                    max(panel),
                    "s",
                    Target("<=", 1.0),
                    detail=f"median {median(panel):.3f} s over {len(panel)} fresh page loads",
                )
            )
        else:
            results.append(
                Result(
                    NAME, "panel first page", 0.0, "s", detail="not measured: no /usr/bin/chromium"
                )
            )
    return results


def _in_process_ratio(folder: Path, http_median: float) -> Result:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("nb03").experiment_id
    query = "tags.`mlops.notebook.path` = 'nb03.ipynb'"
    times = []
    for index in range(30):
        started = time.perf_counter()
        client.search_runs(
            [experiment],
            filter_string=query,
            max_results=20,
            order_by=["attributes.start_time DESC"],
        )
        if index >= 5:
            times.append(time.perf_counter() - started)
    raw = median(times)
    return Result(
        NAME,
        "GET runs over in-process search_runs (medians)",
        http_median / raw,
        "x",
        detail=f"{http_median * 1000:.0f} ms over HTTP vs {raw * 1000:.0f} ms raw MLflow",
    )
