"""A store that cannot be used: a failed ``%mlops init`` records nowhere, and a store that
breaks later is reported in one line naming the real cause and the (masked) store.

Real shells, real SQLite stores broken for real: corrupted bytes, a deleted database and,
where this process may mount file systems, a full disk (a tiny tmpfs) and a read-only mount.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient

from jupyter_mlops.core.errors import ErrorCode
from support.runs import only_run, runs_of

JUPYTER_MLOPS = str(Path(sys.executable).parent / "jupyter-mlops")
CELL = "%%mlops run --no-autolog\nexecuted = True"


@pytest.fixture(autouse=True)
def _short_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's HTTP client would retry for minutes against a server that is down."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


@pytest.fixture
def bare_shell() -> Iterator[InteractiveShell]:
    """A real IPython shell with the extension loaded and no ``%mlops init`` yet."""
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_mlops")
    ip.reset(new_session=False)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _corrupt_store(folder: Path) -> str:
    (folder / "broken.db").write_bytes(b"this is not a database, it only looks like one" * 40)
    return f"sqlite:///{folder / 'broken.db'}"


def _one_line(shell: InteractiveShell, cell: str, capfd: pytest.CaptureFixture[str]) -> str:
    """Run ``cell``; return the one line it printed (fails when it printed more)."""
    capfd.readouterr()
    result = shell.run_cell(cell)
    assert isinstance(result.error_in_exec, UsageError), result
    shown = capfd.readouterr()
    lines = [line for line in (shown.out + shown.err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


# -- a failed init ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make_uri",
    [
        pytest.param(lambda _: f"http://ml:s3cret@127.0.0.1:{_closed_port()}", id="server-down"),
        pytest.param(lambda _: "postgresql://ml:s3cret@127.0.0.1:9/mlflow", id="postgresql"),
        pytest.param(lambda _: "mysql://ml:s3cret@127.0.0.1:9/mlflow", id="mysql-driver"),
        pytest.param(_corrupt_store, id="broken-store"),
    ],
)
def test_failed_init_records_nowhere_until_an_init_succeeds(
    bare_shell, tmp_path: Path, _migrated_store: Path, capfd, make_uri
):
    uri = make_uri(tmp_path)
    with pytest.raises(UsageError) as failed:
        bare_shell.run_line_magic("mlops", f"init --tracking-uri {uri}")
    assert "s3cret" not in str(failed.value)

    bare_shell.user_ns["model"] = object()
    for cell in (CELL, "%mlops runs", "%mlops register model --name m"):
        line = _one_line(bare_shell, cell, capfd)
        assert line.startswith(
            "UsageError: the tracking store chosen with `%mlops init` is unavailable, "
            "so nothing is recorded (no other store is used instead): "
        ), line
        assert uri.replace(":s3cret@", ":***@") in line and "s3cret" not in line
    assert "executed" not in bare_shell.user_ns  # the cell did not run
    # no store was created anywhere (the creation lock beside a broken store may stay)
    left = sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".lock")
    assert left == (["broken.db"] if "broken" in uri else [])

    good = tmp_path / "good"
    good.mkdir()
    shutil.copyfile(_migrated_store, good / "mlflow.db")
    bare_shell.run_line_magic("mlops", f"init --tracking-uri sqlite:///{good}/mlflow.db")
    assert bare_shell.run_cell(CELL).success  # a later successful init clears the failure
    assert only_run(MlflowClient(f"sqlite:///{good}/mlflow.db"), "jupyter-mlops")


def test_failed_init_does_not_fall_back_to_the_previous_store(shell, client: MlflowClient):
    with pytest.raises(UsageError, match="unreachable"):
        shell.run_line_magic("mlops", f"init --tracking-uri http://127.0.0.1:{_closed_port()}")
    result = shell.run_cell(CELL)
    assert isinstance(result.error_in_exec, UsageError)
    assert "executed" not in shell.user_ns
    assert runs_of(client) == []


def test_failed_init_through_the_python_api_records_nowhere(tmp_path: Path):
    import jupyter_mlops

    with pytest.raises(jupyter_mlops.core.errors.MlopsError, match="No module named"):
        jupyter_mlops.init(tracking_uri="mysql://ml:s3cret@127.0.0.1:9/mlflow")
    unavailable = pytest.raises(jupyter_mlops.core.errors.MlopsError, match="is unavailable")
    with unavailable as caught, jupyter_mlops.run("never"):
        pytest.fail("the body ran")
    assert caught.value.code.exit_code == 1 and "s3cret" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_init_with_a_missing_notebook_records_nowhere(bare_shell, tmp_path: Path, capfd):
    with pytest.raises(UsageError, match="does not exist"):
        bare_shell.run_line_magic("mlops", "init --notebook missing.ipynb")
    line = _one_line(bare_shell, CELL, capfd)
    assert line == (
        "UsageError: the last `%mlops init` failed, so nothing is recorded (no other store is "
        f"used instead): notebook {tmp_path / 'missing.ipynb'} does not exist; pass the path "
        "of a saved notebook with --notebook"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["notes.txt", "notes", "data.csv"])
def test_init_refuses_a_notebook_path_that_is_not_a_notebook(bare_shell, tmp_path: Path, name):
    (tmp_path / name).write_text("some notes\n")
    with pytest.raises(UsageError) as refused:
        bare_shell.run_line_magic("mlops", f"init --notebook {name}")
    assert str(refused.value) == (
        f"--notebook {name} is not a notebook (.ipynb) or a Python script (.py); "
        "nothing was changed"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no mlflow.db, no mlruns


# -- a store that breaks after init ------------------------------------------------------------
def test_corrupted_database_is_one_line_naming_the_cause(shell, tracking_uri: str, capfd):
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    database.write_bytes(b"garbage!" * 4096)
    for cell, doing in ((CELL, "cannot create a run in"), ("%mlops runs", "cannot list runs in")):
        line = _one_line(shell, cell, capfd)
        assert line == f"UsageError: {doing} {tracking_uri}: file is not a database"


def test_deleted_database_is_one_line_naming_the_cause(shell, tracking_uri: str, capfd):
    assert shell.run_cell(CELL).success
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    database.unlink()
    line = _one_line(shell, "%%mlops run --no-autolog\nagain = True", capfd)
    assert line == (
        f"UsageError: cannot create a run in {tracking_uri}: attempt to write a readonly "
        f"database (the database file {database} was deleted or moved)"
    )
    assert "again" not in shell.user_ns


def _mount(*args: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a file system needs root")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (a full disk on demand); skipped where mounting is not allowed."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    _mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> None:
    with (folder / "filler").open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass


def test_full_disk_is_one_line_naming_the_cause(
    bare_shell, tiny_disk: Path, _migrated_store: Path, capfd
):
    shutil.copyfile(_migrated_store, tiny_disk / "mlflow.db")
    uri = f"sqlite:///{tiny_disk / 'mlflow.db'}"
    bare_shell.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment tests")
    assert bare_shell.run_cell(CELL).success
    _fill(tiny_disk)
    line = _one_line(bare_shell, "%%mlops run --no-autolog\nagain = True", capfd)
    assert line == f"UsageError: cannot create a run in {uri}: database or disk is full"
    assert "again" not in bare_shell.user_ns


def test_read_only_store_is_one_line_naming_the_cause(
    bare_shell, tmp_path: Path, _migrated_store: Path, capfd
):
    writable, read_only = tmp_path / "store", tmp_path / "read-only"
    writable.mkdir()
    read_only.mkdir()
    shutil.copyfile(_migrated_store, writable / "mlflow.db")
    _mount("--bind", str(writable), str(read_only))
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(read_only)], check=True)
        uri = f"sqlite:///{read_only / 'mlflow.db'}"
        line = _one_line(bare_shell, f"%mlops init --tracking-uri {uri} --experiment e", capfd)
        assert line == (
            f"UsageError: cannot create experiment 'e' in {uri}: "
            "attempt to write a readonly database"
        )
        line = _one_line(bare_shell, CELL, capfd)
        assert "is unavailable" in line and line.endswith("attempt to write a readonly database")
    finally:
        subprocess.run(["umount", "-l", str(read_only)], check=False)
    assert list((tmp_path / "store").iterdir()) == [writable / "mlflow.db"]


# -- jupyter-mlops run with a store that cannot work ------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("make_uri", "message", "code"),
    [
        (lambda _: "foo", "tracking URI foo has no scheme", ErrorCode.CONFIG),
        (
            lambda _: "sqlite:////nonexistent/x.db",
            "tracking URI sqlite:////nonexistent/x.db: folder /nonexistent does not exist",
            ErrorCode.CONFIG,
        ),
        (
            lambda _: "mysql://ml:s3cret@127.0.0.1:9/mlflow",
            "tracking URI mysql://ml:***@127.0.0.1:9/mlflow needs the database driver 'mysqldb'",
            ErrorCode.CONFIG,
        ),
        (
            lambda port: f"http://127.0.0.1:{port}",
            "tracking server http://127.0.0.1:{port} is unreachable",
            ErrorCode.TRACKING_UNAVAILABLE,
        ),
    ],
    ids=["no-scheme", "missing-folder", "missing-driver", "server-down"],
)
def test_job_with_a_store_that_cannot_work_starts_no_kernel(
    tmp_path: Path, make_uri, message, code
):
    notebook = tmp_path / "job.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("open('ran.txt', 'w').write('the cell ran')")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebook)
    port = _closed_port()
    done = subprocess.run(
        [JUPYTER_MLOPS, "run", str(notebook), "--tracking-uri", make_uri(port)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == code.exit_code == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "jupyter-mlops: error: " + message.format(port=port)
    ), lines
    assert "s3cret" not in done.stderr + done.stdout
    assert _files_in(tmp_path) == ["job.ipynb"]  # no output notebook, no ran.txt, no store


def _files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
