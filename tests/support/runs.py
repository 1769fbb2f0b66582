"""Reading back what a test recorded, with a real ``MlflowClient``."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
from mlflow import MlflowClient


def runs_of(client: MlflowClient, experiment: str = "tests") -> list[mlflow.entities.Run]:
    """All runs of ``experiment``, newest first."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"experiment {experiment!r} was not created"
    return list(client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"]))


def only_run(client: MlflowClient, experiment: str = "tests") -> mlflow.entities.Run:
    """The single run of ``experiment`` (fails if there is not exactly one)."""
    runs = runs_of(client, experiment)
    assert len(runs) == 1, f"expected one run, found {len(runs)}"
    return runs[0]


def artifact_text(client: MlflowClient, run_id: str, path: str) -> str:
    """The text of one artifact of a run."""
    local = client.download_artifacts(
        run_id, path, dst_path=os.fspath(Path.cwd() / "downloads" / run_id)
    )
    return Path(local).read_text(encoding="utf-8")
