"""A store that goes away while a cell runs: the cell returns in time, nothing the user made is
lost, and the run does not stay RUNNING past the next session.

Real parts only: a real ``mlflow server`` killed (or paused) from the cell, a real SQLite file
corrupted from the cell, a real IPython shell, pending records on a real disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient

import jupyter_mlops
from jupyter_mlops.core.config import STORE_TIMEOUT_ENV, resolve_settings
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.pending_records import resolve_pending_runs, save_pending
from support.runs import only_run

MARGIN_S = 4.0  # the cell's own work (files, tags) on a loaded 2-core machine


@pytest.fixture
def pending_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pending records go below the test's folder, not the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "jupyter-mlops" / "pending"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """``mlflow server`` on a SQLite store in ``folder``, in its own process group."""
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'm.db'}",
        "--artifacts-destination",
        str(folder / "art"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = folder / f"server-{time.monotonic_ns()}.log"
    with log.open("wb") as out:  # read when it does not start
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 240  # slow on a loaded machine (60-90 s seen)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                _stop(server)
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"mlflow server did not start:\n{tail}") from None
            time.sleep(0.3)


def _stop(server: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGCONT, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
    server.wait(timeout=30)


@pytest.fixture
def ipython() -> Iterator[InteractiveShell]:
    """A real IPython shell with the extension loaded (init is up to the test)."""
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_mlops")
    ip.reset(new_session=False)


def _warning_lines(err: str, needle: str) -> list[str]:
    return [line for line in err.splitlines() if needle in line]


def _new_session(ip: InteractiveShell, uri: str) -> None:
    jupyter_mlops.reset()
    ip.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment tests")


@pytest.mark.slow
def test_server_killed_during_cell(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ipython: InteractiveShell,
    pending_dir: Path,
) -> None:
    """The probe's case: the cell kills the server. It used to block 495 s after the code
    had finished, and the next cell 247 s, leaving the run RUNNING."""
    monkeypatch.setenv(STORE_TIMEOUT_ENV, "5")
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _start_server(tmp_path, port)
    try:
        ipython.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment tests")
        ipython.user_ns["_server_group"] = server.pid
        capsys.readouterr()
        result = ipython.run_cell(
            "%%mlops run --metrics acc --params C --log-model model\n"
            "C = 0.5\n"
            "acc = 0.75\n"
            "model = {'weights': [1, 2, 3]}\n"
            "import os, signal\n"
            "os.killpg(_server_group, signal.SIGKILL)\n"
            "import time as _time; _killed_at = _time.monotonic()\n"
            "acc\n"
        )
        cell_s = time.monotonic() - ipython.user_ns["_killed_at"]
        server.wait(timeout=30)
        err = capsys.readouterr().err

        assert cell_s < 5 + MARGIN_S, f"cell took {cell_s:.1f} s"
        assert result.error_in_exec is None and result.result == 0.75  # Out[n] still shows
        assert ipython.user_ns["model"] == {"weights": [1, 2, 3]}
        (line,) = _warning_lines(err, "could not be finished")
        assert uri in line and "model" in line and "the next session will mark it FAILED" in line
        assert "--log-model model: not logged, the store is unavailable" in err
        (record_file,) = pending_dir.glob("*.json")
        record = json.loads(record_file.read_text(encoding="utf-8"))
        assert record["store"] == uri and record["status"] == "FINISHED"
        assert record["params"] == {"C": "0.5"} and record["metrics"] == {"acc": 0.75}
        assert record["run_id"] in line

        # The next cell, server still down: one line at once, the body does not run.
        started = time.monotonic()
        second = ipython.run_cell("%%mlops run\ny = 1\n")
        next_s = time.monotonic() - started
        assert next_s < 5 + MARGIN_S, f"next cell took {next_s:.1f} s"
        assert "y" not in ipython.user_ns and second.error_in_exec is not None
        assert f"cannot create a run in {uri}: [Errno 111] Connection refused" in str(
            second.error_in_exec
        )

        # Server back on the same store, a new session: the run is FAILED, nothing pending.
        server = _start_server(tmp_path, port)
        _new_session(ipython, uri)
        run = MlflowClient(uri).get_run(record["run_id"])
        assert run.info.status == "FAILED"
        assert run.data.metrics == {"acc": 0.75} and run.data.params == {"C": "0.5"}
        assert run.data.tags["mlops.error.type"] == "StoreUnavailable"
        assert "ended FINISHED" in run.data.tags["mlops.error.message"]
        assert not list(pending_dir.glob("*.json"))
        assert _warning_lines(capsys.readouterr().err, "marked 1 run(s) FAILED")
        print(f"FIGURES killed: cell {cell_s:.1f} s, next cell {next_s:.1f} s (timeout 5 s)")
    finally:
        _stop(server)


@pytest.mark.slow
def test_server_paused_during_cell(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ipython: InteractiveShell,
    pending_dir: Path,
) -> None:
    """A server that accepts connections but never answers: the time limit is what ends it."""
    monkeypatch.setenv(STORE_TIMEOUT_ENV, "3")
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _start_server(tmp_path, port)
    try:
        ipython.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment tests")
        ipython.user_ns["_server_group"] = server.pid
        capsys.readouterr()
        result = ipython.run_cell(
            "%%mlops run --metrics acc\n"
            "acc = 0.5\n"
            "import os, signal\n"
            "os.killpg(_server_group, signal.SIGSTOP)\n"
            "import time as _time; _paused_at = _time.monotonic()\n"
        )
        cell_s = time.monotonic() - ipython.user_ns["_paused_at"]
        err = capsys.readouterr().err
        assert cell_s < 3 + MARGIN_S, f"cell took {cell_s:.1f} s"
        assert result.error_in_exec is None and ipython.user_ns["acc"] == 0.5
        (line,) = _warning_lines(err, "could not be finished")
        assert f"the store {uri} did not answer within 3 s" in line
        (record_file,) = pending_dir.glob("*.json")
        run_id = json.loads(record_file.read_text(encoding="utf-8"))["run_id"]

        started = time.monotonic()
        second = ipython.run_cell("%%mlops run\ny = 1\n")
        next_s = time.monotonic() - started
        assert next_s < 3 + MARGIN_S and "y" not in ipython.user_ns
        assert f"cannot create a run in {uri}: did not answer within 3 s" in str(
            second.error_in_exec
        )

        os.killpg(server.pid, signal.SIGCONT)  # it answers again: a new session resolves it
        _new_session(ipython, uri)
        assert MlflowClient(uri).get_run(run_id).info.status == "FAILED"
        assert not list(pending_dir.glob("*.json"))
        print(f"FIGURES paused: cell {cell_s:.1f} s, next cell {next_s:.1f} s (timeout 3 s)")
    finally:
        _stop(server)


def test_sqlite_corrupted_during_cell(
    tracking_uri: str,
    shell: InteractiveShell,
    capsys: pytest.CaptureFixture[str],
    pending_dir: Path,
) -> None:
    """The database is overwritten while the cell runs: one line naming the cause and the
    store, the variables stay, and once the file is restored the next session fails the run."""
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    shell.user_ns["_db"] = str(database)
    capsys.readouterr()
    result = shell.run_cell(
        "%%mlops run --metrics rmse\n"
        "import shutil\n"
        "shutil.copyfile(_db, _db + '.bak')\n"
        "with open(_db, 'r+b') as f:\n"
        "    f.write(b'not a database' * 300)\n"
        "rmse = 1.25\n"
        "import time as _time; _corrupted_at = _time.monotonic()\n"
    )
    cell_s = time.monotonic() - shell.user_ns["_corrupted_at"]
    err = capsys.readouterr().err
    assert cell_s < 10 + MARGIN_S
    assert result.error_in_exec is None and shell.user_ns["rmse"] == 1.25
    (line,) = _warning_lines(err, "could not be finished")
    assert f"the store {tracking_uri} failed (file is not a database)" in line
    assert "autoflush" not in err
    (record_file,) = pending_dir.glob("*.json")
    run_id = json.loads(record_file.read_text(encoding="utf-8"))["run_id"]

    shutil.copyfile(str(database) + ".bak", database)  # the user restores the file
    _new_session(shell, tracking_uri)
    run = MlflowClient(tracking_uri).get_run(run_id)
    assert run.info.status == "FAILED" and run.data.metrics == {"rmse": 1.25}
    assert "file is not a database" in run.data.tags["mlops.error.message"]
    assert not list(pending_dir.glob("*.json"))
    print(f"FIGURES sqlite corrupted: cell {cell_s:.2f} s")


def test_pending_record_of_a_run_not_in_the_store_is_dropped_others_kept(
    tracking_uri: str, client: MlflowClient, pending_dir: Path, tmp_path: Path
) -> None:
    """A record names its store; another store's records are left for that store."""
    experiment = client.create_experiment("e")
    ended = client.create_run(experiment).info.run_id
    client.set_terminated(ended)
    common = {"experiment_id": experiment, "status": "FINISHED", "cause": "x"}
    save_pending(run_id="0" * 32, tracking_uri=tracking_uri, **common)
    save_pending(run_id=ended, tracking_uri=tracking_uri, **common)
    other = save_pending(run_id="1" * 32, tracking_uri=f"sqlite:///{tmp_path}/o.db", **common)

    resolved = resolve_pending_runs(client, tracking_uri)

    assert resolved.missing == ("0" * 32,) and resolved.already_ended == (ended,)
    assert resolved.failed == ()
    assert client.get_run(ended).info.status == "FINISHED"  # an ended run is left as it is
    assert [p.name for p in pending_dir.glob("*.json")] == [other.name]


def test_store_timeout_setting(tmp_path: Path) -> None:
    """Environment > pyproject.toml > 10 s; anything but seconds is a CONFIG error."""
    assert resolve_settings(cwd=tmp_path, env={}).store_timeout == 10.0
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops]\nstore_timeout = 2.5\n")
    settings = resolve_settings(cwd=tmp_path, env={})
    assert (settings.store_timeout, settings.store_timeout_source) == (2.5, "pyproject")
    settings = resolve_settings(cwd=tmp_path, env={STORE_TIMEOUT_ENV: "7"})
    assert (settings.store_timeout, settings.store_timeout_source) == (7.0, "environment")
    for bad in ("0", "-1", "ten", "nan", "99999"):
        with pytest.raises(MlopsError, match=STORE_TIMEOUT_ENV) as caught:
            resolve_settings(cwd=tmp_path, env={STORE_TIMEOUT_ENV: bad})
        assert caught.value.code is ErrorCode.CONFIG
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops]\nstore_timeout = "1m"\n')
    with pytest.raises(MlopsError, match="store_timeout in"):
        resolve_settings(cwd=tmp_path, env={})


def test_mlflow_http_settings_of_the_user_are_kept_and_ours_do_not_leak(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, client: MlflowClient
) -> None:
    """Our lower HTTP limits apply to our calls only: nothing is left set after a cell, and a
    value the user set is never replaced."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", raising=False)
    result = shell.run_cell(
        "%%mlops run --no-autolog\n"
        "import os\n"
        "seen = {k: os.environ.get(k) for k in ('MLFLOW_HTTP_REQUEST_TIMEOUT',"
        " 'MLFLOW_HTTP_REQUEST_MAX_RETRIES')}\n"
    )
    assert result.success
    assert shell.user_ns["seen"] == {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": None,  # the user's code sees MLflow's own defaults
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "5",
    }
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ
    assert "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR" not in os.environ
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"
    assert only_run(client).info.status == "FINISHED"
