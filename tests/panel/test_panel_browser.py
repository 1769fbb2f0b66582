"""The panel in a real JupyterLab, in Debian's headless Chromium driven by Playwright: open
the example notebook, run its ``%%mlops run`` cell, see the run appear (the panel listens to
cell executions), register it from the form, see the version and alias, run the job from the
panel and see it finish.

Screenshots land in the test's folder; with ``JUPYTER_MLOPS_SCREENSHOTS=DIR`` they are also
copied to DIR (``docs/images`` is refreshed that way).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "example_notebooks" / "credit_risk.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="Debian's chromium is not installed (Quickstart command 2 installs it)",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real ``jupyter lab`` on 127.0.0.1 serving a copy of the example notebook."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "receive Jupyter news?" toast over the page
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        JUPYTERLAB_SETTINGS_DIR=str(root / ".lab-settings"),
        JUPYTER_CONFIG_DIR=str(root / ".jupyter-config"),
    )
    port, token = _free_port(), "mlops-browser-test"
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((root / "lab.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield {"url": url, "token": token, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def page(lab: dict[str, Any]) -> Iterator[Any]:
    # function-scoped: Playwright's loop must be gone before pytest-jupyter closes its own
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        context = browser.new_context(viewport={"width": 1500, "height": 950})
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _shot(page: Any, lab: dict[str, Any], name: str) -> None:
    path = lab["root"] / "screenshots" / name
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path))
    target = os.environ.get("JUPYTER_MLOPS_SCREENSHOTS")
    if target:
        shutil.copy(path, Path(target) / name)


def _widen_right_sidebar(page: Any) -> None:
    """Drag the splitter left of the right sidebar 240 px to the left (nicer screenshots)."""
    box = page.locator("#jp-right-stack").bounding_box()
    if box is None:
        return
    x, y = box["x"] - 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 240, y, steps=8)
    page.mouse.up()


def _palette(page: Any, command: str) -> None:
    """Run ``command`` from the command palette (the shortcut may land before the page
    listens: try it again until the palette shows)."""
    search = page.locator(".lm-CommandPalette-input")
    for _ in range(5):
        page.locator(".jp-NotebookPanel-toolbar").click(position={"x": 400, "y": 10})
        page.keyboard.press("Control+Shift+C")
        try:
            search.wait_for(state="visible", timeout=3_000)
            break
        except Exception:  # playwright's TimeoutError: press again
            continue
    search.fill(command)
    page.locator(".lm-CommandPalette-item:has-text('" + command + "')").first.click()


def _run_cell_index() -> int:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("%%mlops run"))


def test_run_register_and_job_from_the_panel(lab: dict[str, Any], page: Any) -> None:
    page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK.name}?token={lab['token']}")
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    # the kernel must be up before cells are queued
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)

    # 1. open the panel (toolbar button, then the command palette, then its tab)
    panel = page.locator("#jupyter-mlops-panel")
    page.click(".jp-NotebookPanel-toolbar .jp-mlops-toolbar-button")
    panel.wait_for(state="visible")
    page.click(".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='jupyter-mlops-panel']")
    panel.wait_for(state="hidden")
    _palette(page, "Open MLOps panel")
    panel.wait_for(state="visible")
    page.click(".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='jupyter-mlops-panel']")
    panel.wait_for(state="hidden")
    page.click(".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='jupyter-mlops-panel']")
    # nothing recorded yet
    panel.locator(".jp-mlops-runs .jp-mlops-empty").wait_for()
    _widen_right_sidebar(page)
    _shot(page, lab, "panel-empty.png")

    # 2. run the notebook down to its %%mlops run cell, as a user would (Shift+Enter)
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    for _ in range(_run_cell_index() + 1):
        page.keyboard.press("Shift+Enter")
        time.sleep(0.2)
    # the run appears without touching the panel: it listens to cell executions
    row = panel.locator(".jp-mlops-run-row").first
    row.wait_for(timeout=180_000)
    assert "logreg-baseline" in row.inner_text()
    # seen while still running, it is looked at again until it has ended
    panel.locator(".jp-mlops-run-row .jp-mlops-status-finished").first.wait_for(timeout=60_000)
    _shot(page, lab, "panel-runs.png")

    # 3. the run's details; the cell id scrolls the notebook to its cell
    row.click()
    details = panel.locator(".jp-mlops-run-details")
    details.locator(".jp-mlops-cell-link").wait_for()
    assert "X_train" in details.inner_text()
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    details.locator(".jp-mlops-cell-link").click()
    active = page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    page.wait_for_function(
        "() => document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active')"
        "?.textContent.includes('%%mlops run')"
    )
    assert "%%mlops run" in active.inner_text()

    # 4. register from the form: an invalid alias is refused before sending anything
    details.locator(".jp-mlops-register-open").click()
    form = panel.locator(".jp-mlops-register-form")
    form.locator("input[name='alias']").fill("v1")
    form.locator(".jp-mlops-register-submit").click()
    assert "reserved" in form.locator(".jp-mlops-form-error[data-field='alias']").inner_text()
    assert panel.locator(".jp-mlops-version-row").count() == 0
    form.locator("input[name='alias']").fill("champion")
    form.locator("input[name='owner']").fill("Credit Risk Analytics")
    form.locator("input[name='purpose']").fill("Probability of default of retail loans")
    form.locator("select[name='risk_tier']").select_option("2")
    _shot(page, lab, "panel-register.png")
    form.locator(".jp-mlops-register-submit").click()
    panel.locator(".jp-mlops-success").wait_for()
    panel.locator(".jp-mlops-version-row[data-version='1']").wait_for()
    champion = panel.locator(".jp-mlops-version-row[data-version='1'] .jp-mlops-alias")
    assert champion.get_attribute("data-alias") == "champion"
    assert "credit-risk" in panel.locator(".jp-mlops-lineage").inner_text()
    assert "champion" in panel.locator(".jp-mlops-ledger").inner_text()
    panel.locator(".jp-mlops-models").scroll_into_view_if_needed()
    _shot(page, lab, "panel-models.png")

    # 5. run the job with an edited parameter and watch it finish
    job = panel.locator(".jp-mlops-job")
    job.locator(".jp-mlops-job-param[data-name='C']").fill("0.5")
    job.locator(".jp-mlops-job-run").click()
    execution = job.locator(".jp-mlops-execution").first
    execution.wait_for()
    job.locator(".jp-mlops-execution[data-status='RUNNING']").wait_for(timeout=60_000)
    execution.scroll_into_view_if_needed()
    _shot(page, lab, "panel-job-running.png")
    job.locator(".jp-mlops-execution[data-status='FINISHED']").wait_for(timeout=240_000)
    assert "C=0.5" in execution.inner_text() or "0.5" in execution.inner_text()
    _shot(page, lab, "panel-job.png")
    # the job registered version 2 (its notebook's %mlops register cell) and the panel shows it
    panel.locator(".jp-mlops-version-row[data-version='2']").wait_for(timeout=30_000)

    # 6. the dark theme: the panel follows JupyterLab's theme variables
    page.click(".lm-MenuBar-itemLabel:text-is('Settings')")
    page.hover(".lm-Menu-itemLabel:text-is('Theme')")
    page.click(".lm-Menu-itemLabel:text-is('JupyterLab Dark')")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    panel = page.locator("#jupyter-mlops-panel")
    panel.locator(".jp-mlops-run-row").first.wait_for()
    background = panel.evaluate("node => getComputedStyle(node).backgroundColor")
    channels = [int(x) for x in background.strip("rgba()").split(",")[:3]]
    assert sum(channels) < 3 * 100, background  # follows the theme: dark
    _shot(page, lab, "panel-dark.png")
