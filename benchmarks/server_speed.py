"""Server speed: the panel's routes on 10,000 runs across 20 notebooks, and the panel's first
page in a real browser.

The store (``benchmarks/_server_store.py``): a project with 20 notebooks
``notebooks/nb00.ipynb`` ... ``nb19.ipynb`` and 500 runs each in the notebook's default
experiment (its stem), every run as ``%%mlops run`` records it: the first of each notebook
really recorded by the magic, the rest cloned from it row for row in bulk (checked against
clones written through ``MlflowClient``). ``credit-risk`` has 10 versions registered with
``%mlops register`` from ``nb00``'s runs, ``@champion`` on the last. Built once (about a
minute) and reused from the temporary directory while nothing it depends on changes.

Then a real ``jupyter lab`` from this environment (our extension enabled by the install)
serves the project on 127.0.0.1 with a token, and this process calls it with ``urllib``, one
request at a time, after 5 warm-up requests of each kind:

1. ``GET runs?notebook=notebooks/nbXX.ipynb&limit=20``, round-robin over the 20 notebooks, the
   first page and the second (``page_token``): median and p95 (target: p95 at most 200 ms);
   each reply is checked against the store (20 runs, newest first, a second page that follows);
2. ``GET lineage?model=credit-risk&ref=@champion&notebook=notebooks/nb00.ipynb``: median and
   p95 (target: at most 100 ms, held at p95);
3. ``GET runs/RUN_ID`` and ``GET models?notebook=`` for information;
4. for comparison, the same first-page query in this process with a warm
   ``MlflowClient.search_runs`` (same filter, order and page size), timed in the same rounds:
   the ratio is what HTTP, Jupyter Server and our code add to raw MLflow;
5. in Debian's headless Chromium (Playwright), 5 fresh page loads of a notebook (the kernel
   idle, the panel closed), each timing a click on the MLOps tab until the first run row is
   visible (target: at most 1 s, held at the maximum).

A route or the panel that is not there yet gives a "not measured" row instead of a crash.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import Result, Target, median, paired_ratios
from benchmarks._server_store import MODEL, NOTEBOOKS, RUNS_PER_NOTEBOOK, VERSIONS, notebook, store

__all__ = ["NAME", "run"]

NAME = "server_speed"
RUNS_TARGET = Target("<=", 0.200)
LINEAGE_TARGET = Target("<=", 0.100)
PANEL_TARGET = Target("<=", 1.0)
PAGE = 20
WARMUP = 5
CHROMIUM = Path("/usr/bin/chromium")
PANEL_ID = "jupyter-mlops-panel"
TAB = f".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='{PANEL_ID}']"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_TOKEN = "server-speed-benchmark"
_API = "jupyter-mlops/api"


class NotMeasured(Exception):
    """A measurement that cannot be made (yet): the reason is printed instead of a value."""


def run(quick: bool = False) -> list[Result]:
    """Build or reuse the store, start ``jupyter lab``, time the routes and the panel."""
    rounds, lineage_rounds, info_rounds, panel_rounds = (
        (30, 30, 10, 3) if quick else (80, 120, 30, 5)
    )
    started = time.perf_counter()
    built = store(_progress)
    results = [
        Result(
            NAME,
            f"build the store: {NOTEBOOKS * RUNS_PER_NOTEBOOK:,} runs x {NOTEBOOKS} notebooks",
            built.manifest["seconds"],
            "s",
            None,
            built.describe(),
        )
    ]
    if not built.reused:
        _progress(f"store built in {time.perf_counter() - started:.0f} s")
    expected = _newest_runs(built.uri)
    with _jupyter_lab(built.root) as server:
        _progress(f"jupyter lab ready at {server.url} in {server.startup:.1f} s; timing routes ...")
        results += _guarded(
            "GET runs?notebook= (20 a page)",
            RUNS_TARGET,
            lambda: _measure_runs(server, built.uri, expected, rounds),
        )
        results += _guarded(
            "GET lineage (@champion, 10 versions)",
            LINEAGE_TARGET,
            lambda: _measure_lineage(server, lineage_rounds),
        )
        results += _guarded(
            "GET runs/RUN_ID", None, lambda: _measure_detail(server, expected, info_rounds)
        )
        results += _guarded(
            "GET models?notebook=", None, lambda: _measure_models(server, info_rounds)
        )
        _progress("timing the panel in Chromium ...")
        results += _guarded(
            "panel: click the tab -> first run row visible",
            PANEL_TARGET,
            lambda: _measure_panel(server, expected, panel_rounds),
        )
    print(flush=True)
    return results


def _guarded(
    measurement: str, target: Target | None, measure: Callable[[], list[Result]]
) -> list[Result]:
    """``measure()``, or one row saying why it could not be measured."""
    try:
        return measure()
    except NotMeasured as reason:
        return [Result(NAME, f"{measurement}: NOT MEASURED", math.nan, "s", None, str(reason))]


def _progress(message: str) -> None:
    print(f"\n  {message}", end="", flush=True)


# --- the server ---------------------------------------------------------------------------


class _Server:
    def __init__(self, url: str, startup: float, log: Path) -> None:
        self.url = url
        self.startup = startup
        self.log = log

    def get(self, path: str, **query: str) -> tuple[float, Any]:
        """Seconds for one ``GET`` of a route (the reply read and parsed), and the reply."""
        address = f"{self.url}/{_API}/{path}"
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(address, headers={"Authorization": f"token {_TOKEN}"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:  # our routes answer {"error", "message"}; anything else is not ours
                detail = str(json.loads(error.read())["message"])[:200]
            except (ValueError, KeyError, TypeError):
                detail = str(error.reason)
            reason = f"GET {path} answered {error.code} {detail}"
            hint = " (route not there yet?)" if error.code == 404 else ""
            raise NotMeasured(reason + hint) from None
        return time.perf_counter() - started, body

    def api(self, method: str, path: str) -> Any:
        """A Jupyter Server REST call (``/api/...``), e.g. to list or end sessions."""
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            data = response.read()
        return json.loads(data) if data else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _jupyter_lab(root: Path) -> Iterator[_Server]:
    """``jupyter lab`` serving ``root``; its user settings, workspaces, runtime files and
    IPython folder in a temporary directory (news and update checks off); stopped by PID."""
    from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES

    with tempfile.TemporaryDirectory(prefix="jupyter-mlops-bench-lab-") as state:
        home = Path(state)
        notification = home / "settings" / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
        env.update(
            MLFLOW_DISABLE_TELEMETRY="true",
            JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            IPYTHONDIR=str(home / "ipython"),
        )
        port = _free_port()
        command = [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            f"--IdentityProvider.token={_TOKEN}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
        ]
        log_path = home / "lab.log"
        with log_path.open("w") as log:
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its kernels too: stopped with it, by its group id
            )
            try:
                server = _Server(f"http://127.0.0.1:{port}", 0.0, log_path)
                _wait_ready(server, process)
                server.startup = time.perf_counter() - started
                yield server
            except BaseException:
                print(f"\n  jupyter lab log:\n{log_path.read_text()[-3000:]}", flush=True)
                raise
            finally:
                _stop(process)


def _wait_ready(server: _Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            server.api("GET", "status")
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not start (exit {process.poll()})") from None
            time.sleep(0.3)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the server shuts its kernels down), then SIGKILL to its own process group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # a kernel left behind (same group)
        os.killpg(process.pid, signal.SIGKILL)


# --- the routes ---------------------------------------------------------------------------


def _newest_runs(uri: str) -> dict[str, list[str]]:
    """The 40 newest run ids of each notebook straight from SQLite (the expected two pages)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            expected = {}
            for index in range(NOTEBOOKS):
                rows = connection.execute(
                    text(
                        "SELECT r.run_uuid FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                        "WHERE t.key = 'mlops.notebook.path' AND t.value = :nb AND "
                        "r.lifecycle_stage = 'active' ORDER BY r.start_time DESC, r.run_uuid "
                        "LIMIT :n"
                    ),
                    {"nb": notebook(index), "n": 2 * PAGE},
                )
                expected[notebook(index)] = [row[0] for row in rows]
    finally:
        engine.dispose()
    return expected


def _measure_runs(
    server: _Server, uri: str, expected: dict[str, list[str]], rounds: int
) -> list[Result]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    from jupyter_mlops.core.store.queries import notebook_tag_filter

    client = MlflowClient(uri)
    experiments = {
        notebook(i): client.get_experiment_by_name(Path(notebook(i)).stem) for i in range(NOTEBOOKS)
    }

    def raw(path: str) -> object:
        experiment = experiments[path]
        assert experiment is not None
        return client.search_runs(
            [experiment.experiment_id],
            filter_string=notebook_tag_filter(path),
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=PAGE,
            order_by=["attributes.start_time DESC", "attributes.run_id ASC"],
        )

    def pages(path: str) -> tuple[float, float]:
        first_time, first = server.get("runs", notebook=path, limit=str(PAGE))
        ids = [r["run_id"] for r in first["runs"]]
        if ids != expected[path][:PAGE] or not first["next_page_token"]:
            raise RuntimeError(f"runs of {path}: not the 20 newest, or no next page: {ids}")
        token = first["next_page_token"]
        second_time, second = server.get("runs", notebook=path, limit=str(PAGE), page_token=token)
        if [r["run_id"] for r in second["runs"]] != expected[path][PAGE:]:
            raise RuntimeError(f"runs of {path}: the second page is not runs 21-40")
        return first_time, second_time

    for index in range(WARMUP):
        pages(notebook(index))
        raw(notebook(index))
    first: list[float] = []
    second: list[float] = []
    in_process: list[float] = []
    for index in range(rounds):
        path = notebook(index % NOTEBOOKS)
        if index % 2:  # alternate which goes first within a round
            started = time.perf_counter()
            raw(path)
            in_process.append(time.perf_counter() - started)
            times = pages(path)
        else:
            times = pages(path)
            started = time.perf_counter()
            raw(path)
            in_process.append(time.perf_counter() - started)
        first.append(times[0])
        second.append(times[1])
    both = first + second
    ratios = paired_ratios(first, in_process)
    setup = (
        f"{len(both)} requests ({rounds} first pages + {rounds} second pages, round-robin over "
        f"{NOTEBOOKS} notebooks) after {WARMUP} warm-up pairs, one at a time, every reply "
        "checked against the store"
    )
    return [
        Result(
            NAME,
            "GET runs?notebook= (20 a page), p95",
            _p95(both),
            "s",
            RUNS_TARGET,
            f"{_spread(both)}; {setup}",
        ),
        Result(NAME, "GET runs?notebook=, first page, median", median(first), "s", None),
        Result(
            NAME,
            "GET runs?notebook=, second page (page_token), median",
            median(second),
            "s",
            None,
            _spread(second),
        ),
        Result(
            NAME,
            "GET runs first page / in-process search_runs",
            median(ratios),
            "x",
            None,
            f"median of per-round ratios (p95 {_p95(ratios):.2f}x); in-process "
            f"MlflowClient.search_runs with the route's filter, order and page size on a warm "
            f"client, timed in the same rounds: {_spread(in_process)}",
        ),
    ]


def _measure_lineage(server: _Server, rounds: int) -> list[Result]:
    query = {"model": MODEL, "ref": "@champion", "notebook": notebook(0)}
    for _ in range(WARMUP):
        server.get("lineage", **query)
    times = []
    for _ in range(rounds):
        seconds, graph = server.get("lineage", **query)
        times.append(seconds)
    root = f"model_version:{MODEL}/{VERSIONS}"
    siblings = [e for e in graph["edges"] if e["kind"] == "same_notebook"]
    if graph["root"] != root or len(siblings) != VERSIONS - 1:
        raise RuntimeError(f"unexpected lineage: root {graph['root']}, {len(siblings)} siblings")
    p95 = _p95(times)
    held = "p95" if LINEAGE_TARGET.met_by(p95) else "p95 (missed; the median is shown below)"
    return [
        Result(
            NAME,
            "GET lineage (@champion, 10 versions), p95",
            p95,
            "s",
            LINEAGE_TARGET,
            f"{_spread(times)}; held at the {held}; {rounds} requests after {WARMUP} warm-up; "
            f"{len(graph['nodes'])} nodes, {len(graph['edges'])} edges",
        ),
        Result(NAME, "GET lineage, median", median(times), "s", None),
    ]


def _measure_detail(server: _Server, expected: dict[str, list[str]], rounds: int) -> list[Result]:
    ids = [(path, runs[i]) for i in range(PAGE) for path, runs in expected.items()][:rounds]
    for path, run_id in ids[:WARMUP]:
        server.get(f"runs/{run_id}", notebook=path)
    times = []
    for path, run_id in ids:
        seconds, detail = server.get(f"runs/{run_id}", notebook=path)
        if detail["run_id"] != run_id or len(detail["datasets"]) != 4 or not detail["artifacts"]:
            raise RuntimeError(f"unexpected detail of {run_id}: {detail}")
        times.append(seconds)
    return [
        Result(
            NAME,
            "GET runs/RUN_ID, median",
            median(times),
            "s",
            None,
            f"{_spread(times)}; {len(times)} different runs (4 datasets, "
            f"{len(detail['artifacts'])} artifact entries listed from disk)",
        )
    ]


def _measure_models(server: _Server, rounds: int) -> list[Result]:
    for index in range(WARMUP):
        server.get("models", notebook=notebook(index % 2))
    times = []
    for index in range(rounds):
        seconds, reply = server.get("models", notebook=notebook(index % 2))
        wanted = [MODEL] if index % 2 == 0 else []
        if [m["name"] for m in reply["models"]] != wanted:
            raise RuntimeError(f"unexpected models of {notebook(index % 2)}: {reply}")
        times.append(seconds)
    return [
        Result(
            NAME,
            "GET models?notebook=, median",
            median(times),
            "s",
            None,
            f"{_spread(times)}; alternately nb00 (1 model) and nb01 (none)",
        )
    ]


# --- the panel ----------------------------------------------------------------------------


def _measure_panel(server: _Server, expected: dict[str, list[str]], rounds: int) -> list[Result]:
    if not CHROMIUM.exists():
        raise NotMeasured(f"no browser at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise NotMeasured("Playwright for Python is not installed") from None
    opened: list[_Opened] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            for index in range(rounds):
                path = notebook(1 + index % (NOTEBOOKS - 1))
                try:
                    once = _open_panel_once(page, server, path)
                except PlaywrightError as error:
                    raise NotMeasured(f"{path}: {str(error).splitlines()[0]}") from None
                if once.first_row != expected[path][0]:
                    raise RuntimeError(f"the panel's first row is {once.first_row}, not {path}'s")
                opened.append(once)
                _end_sessions(server)
        finally:
            browser.close()
    times = [o.seconds for o in opened]
    requests = sorted({name for o in opened for name in o.requests})

    def column(name: str) -> str:
        return ", ".join(f"{o.requests.get(name, math.nan) * 1e3:.0f}" for o in opened)

    return [
        Result(
            NAME,
            "panel: click the tab -> first run row visible, max",
            max(times),
            "s",
            PANEL_TARGET,
            f"median {median(times):.3f} s; every time: {', '.join(f'{t:.3f}' for t in times)} s"
            " (in the page: from the tab's pointerdown to the animation frame that paints the "
            "first .jp-mlops-run-row; "
            f"Playwright's wall clock around the click: "
            f"{', '.join(f'{o.wall:.3f}' for o in opened)} s); {len(times)} fresh page loads of "
            "a different notebook each, kernel idle, panel closed before the click; the first "
            "row checked to be that notebook's newest run; the panel's requests, sent at once, "
            "took (ms, per load) " + "; ".join(f"{name}: {column(name)}" for name in requests),
        ),
        Result(NAME, "panel: click the tab -> first run row visible, median", median(times), "s"),
    ]


@dataclass(frozen=True)
class _Opened:
    """One opening of the panel."""

    seconds: float  # measured in the page
    wall: float  # measured here, around Playwright's click and wait
    first_row: str
    requests: dict[str, float]  # route -> seconds from request start to response end


_WATCH = """() => {
  performance.clearResourceTimings();
  const seen = (window.__mlopsBench = {});
  document.addEventListener('pointerdown', () => { seen.t0 = performance.now(); },
                            { capture: true, once: true });
  const shown = () => {
    const row = document.querySelector('#__PANEL__ .jp-mlops-run-row');
    return row !== null && row.offsetParent !== null;
  };
  const observer = new MutationObserver(() => {
    if (seen.t0 === undefined || !shown()) return;
    observer.disconnect();  // laid out; the frame that paints it is the next one
    requestAnimationFrame(() => { seen.t1 = performance.now(); });
  });
  observer.observe(document.body, { childList: true, subtree: true, attributes: true });
}""".replace("__PANEL__", PANEL_ID)
_READ = """() => ({
  t0: window.__mlopsBench.t0, t1: window.__mlopsBench.t1,
  requests: performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/jupyter-mlops/api/'))
    .map(e => [e.name.split('/jupyter-mlops/api/')[1].split('?')[0],
               e.responseEnd - e.startTime])
})"""


def _open_panel_once(page: Any, server: _Server, path: str) -> _Opened:
    """Load JupyterLab on ``path`` afresh, then time the click on the MLOps tab until the
    first run row shows (in the page, with ``performance.now()``)."""
    page.goto(f"{server.url}/lab/tree/{path}?token={_TOKEN}&reset")
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    # the kernel starting competes for the CPU: let it settle (without an indicator, go on)
    with contextlib.suppress(Exception):
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
        )
    tab = page.locator(TAB)
    try:
        tab.wait_for(state="visible", timeout=30_000)
    except Exception:
        raise NotMeasured(f"no MLOps tab ({TAB}) in the right sidebar after 30 s") from None
    if "lm-mod-current" in (tab.get_attribute("class") or ""):
        tab.click()  # restored open: close it, so that opening is what is timed
        page.locator(f"#{PANEL_ID}").wait_for(state="hidden")
    row = page.locator(f"#{PANEL_ID} .jp-mlops-run-row").first
    page.evaluate(_WATCH)
    started = time.perf_counter()
    tab.click()
    row.wait_for(state="visible", timeout=30_000)
    wall = time.perf_counter() - started
    page.wait_for_function("() => window.__mlopsBench.t1 !== undefined", timeout=5_000)
    seen = page.evaluate(_READ)
    requests: dict[str, float] = {}
    for name, millis in seen["requests"]:
        key, count = name, 1
        while key in requests:  # the same route twice
            count += 1
            key = f"{name} (#{count})"
        requests[key] = millis / 1000
    return _Opened(
        seconds=(seen["t1"] - seen["t0"]) / 1000,
        wall=wall,
        first_row=str(row.get_attribute("data-run-id")),
        requests=requests,
    )


def _end_sessions(server: _Server) -> None:
    """Shut down the kernels the page load started (they would pile up, one per round)."""
    for session in server.api("GET", "sessions") or []:
        server.api("DELETE", f"sessions/{session['id']}")


# --- statistics ---------------------------------------------------------------------------


def _p95(values: Sequence[float]) -> float:
    if len(values) < 20:
        return max(values)
    return float(statistics.quantiles(values, n=20, method="inclusive")[-1])


def _spread(times: Sequence[float]) -> str:
    return (
        f"median {median(times) * 1e3:.1f} ms, p95 {_p95(times) * 1e3:.1f} ms, "
        f"max {max(times) * 1e3:.1f} ms"
    )
