"""Shared fixtures: a fresh SQLite MLflow store per test, a real IPython shell, no leaks.

Nothing here mocks MLflow, papermill, nbformat or IPython: tests read back what was recorded
with a real ``MlflowClient``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient

import jupyter_mlops
from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES

# jp_fetch & co (a real Jupyter server per test) and our server fixtures (api, config).
pytest_plugins = ["pytest_jupyter.jupyter_server", "support.server"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Run every test in its own folder with a clean environment; fail on leaked runs."""
    # The developer's or CI's configuration must not leak into tests.
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(tmp_path)
    jupyter_mlops.reset()
    yield
    leaked = mlflow.active_run()
    while mlflow.active_run() is not None:
        mlflow.end_run()
    jupyter_mlops.reset()
    mlflow.set_tracking_uri(None)
    assert leaked is None, f"test left MLflow run {leaked.info.run_id} active"


@pytest.fixture(scope="session")
def _migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite database with its schema created once (migrations take seconds)."""
    database = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{database}").search_experiments(max_results=1)
    return database


@pytest.fixture
def tracking_uri(tmp_path: Path, _migrated_store: Path) -> str:
    """A fresh SQLite tracking store in the test's folder (a copy of the empty template)."""
    database = tmp_path / "mlflow.db"
    shutil.copyfile(_migrated_store, database)
    return f"sqlite:///{database}"


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    """A client on the test's store, for reading back what was recorded."""
    return MlflowClient(tracking_uri)


@pytest.fixture
def shell(tracking_uri: str) -> Iterator[InteractiveShell]:
    """A real IPython shell with the extension loaded and ``%mlops init`` done on the test store."""
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    ip.run_line_magic("mlops", f"init --tracking-uri {tracking_uri} --experiment tests")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_mlops")
    ip.reset(new_session=False)


@pytest.fixture
def mlflow_server(tmp_path: Path):
    """A real MLflow tracking server on loopback (SQLite backend), stopped after the test."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination",
        str(tmp_path / "server-artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine needs over a minute
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("mlflow server did not start") from None
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
