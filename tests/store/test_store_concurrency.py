"""Concurrent first use of a store: one creator under a lock, half-migrated stores repaired.

Real processes on real SQLite files; half-migrated stores are made by hand with sqlite3 (as
a killed creator leaves them) or by killing a real creator mid-migration.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.creation import inspect_sqlite, store_creation
from jupyter_mlops.core.store.tracking import connect

_WORKER = """
import sys, jupyter_mlops
jupyter_mlops.init(tracking_uri=sys.argv[1], experiment="race")
for i in range(2):
    with jupyter_mlops.run(f"r{i}", params={"i": i}) as run:
        run.log_metrics({"m": float(i)})
print("recorded")
"""


def _sql(database: Path, *statements: str) -> None:
    db = sqlite3.connect(database)
    try:
        for statement in statements:
            db.execute(statement)
        db.commit()
    finally:
        db.close()


def _store_with_a_run(tracking_uri: str) -> str:
    client = MlflowClient(tracking_uri)
    run = client.create_run(client.create_experiment("kept"))
    client.set_terminated(run.info.run_id)
    return run.info.run_id


@pytest.mark.slow
def test_eight_processes_create_one_fresh_store(tmp_path: Path) -> None:
    database = tmp_path / "fresh" / "mlflow.db"
    database.parent.mkdir()
    uri = f"sqlite:///{database}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, uri],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    failed = [out for w, out in zip(workers, outputs, strict=True) if w.returncode != 0]
    assert not failed, failed[0][-2000:]
    assert all("recorded" in out for out in outputs)
    state = inspect_sqlite(database)
    assert state is not None and state.complete and not state.leftovers
    client = connect(uri)  # usable afterwards
    experiment = client.get_experiment_by_name("race")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert len(runs) == 16
    assert {r.info.status for r in runs} == {"FINISHED"}
    print(f"8 processes, 16 runs, {time.monotonic() - started:.1f} s")


def test_half_migrated_store_without_records_is_created_again(tracking_uri: str) -> None:
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    _sql(
        database,
        "DELETE FROM alembic_version",  # a creator killed before Alembic stamped it
        "CREATE TABLE _alembic_tmp_experiments AS SELECT * FROM experiments WHERE 0",
    )
    client = connect(tracking_uri)
    state = inspect_sqlite(database)
    assert state is not None and state.complete and state.leftovers == []
    run = client.create_run(client.create_experiment("after-repair"))
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    client.set_terminated(run.info.run_id)


def test_empty_leftover_copies_are_dropped_and_runs_kept(tracking_uri: str) -> None:
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    run_id = _store_with_a_run(tracking_uri)
    _sql(database, "CREATE TABLE _alembic_tmp_params AS SELECT * FROM params WHERE 0")
    client = connect(tracking_uri)
    state = inspect_sqlite(database)
    assert state is not None and state.complete and state.leftovers == []
    assert client.get_run(run_id).info.status == "FINISHED"


def test_half_migrated_store_with_runs_is_explained_and_left_alone(tracking_uri: str) -> None:
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    _store_with_a_run(tracking_uri)
    _sql(database, "UPDATE alembic_version SET version_num = '867495a8f9d4'")
    with pytest.raises(MlopsError) as caught:
        connect(tracking_uri)
    assert caught.value.code is ErrorCode.CONFLICT
    message = str(caught.value)
    assert "\n" not in message
    assert "schema version 867495a8f9d4, not " in message, message
    assert message.endswith(f"then run `mlflow db upgrade {tracking_uri}`"), message
    state = inspect_sqlite(database)
    assert state is not None and state.version == "867495a8f9d4" and state.records == 2


def test_a_creator_holding_the_lock_too_long_is_reported(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database}"
    with open(tmp_path / "mlflow.db.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(MlopsError) as caught, store_creation(uri, wait_s=0.5):
            pytest.fail("entered without the lock")  # pragma: no cover
    assert caught.value.code is ErrorCode.TRACKING_UNAVAILABLE
    assert "still being created by another process" in str(caught.value)
    assert not database.exists()


@pytest.mark.slow
def test_store_of_a_creator_killed_mid_migration_is_repaired(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database}"
    creator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from mlflow import MlflowClient; "
            "MlflowClient(sys.argv[1]).search_experiments()",
            uri,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    seen = None
    while creator.poll() is None and time.monotonic() < deadline:
        seen = inspect_sqlite(database)
        if seen is not None and seen.version is not None:  # migrations are under way
            creator.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    creator.wait(timeout=30)
    killed = inspect_sqlite(database)
    if killed is None or killed.complete:
        pytest.skip("the creator finished before it could be killed mid-migration")
    client = connect(uri)
    state = inspect_sqlite(database)
    assert state is not None and state.complete and not state.leftovers
    assert client.get_experiment("0") is not None
