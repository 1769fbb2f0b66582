"""Values written into MLflow search filters go through store.queries.quoted: a value holding
a quote neither breaks the filter nor widens it to other values."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from mlflow import MlflowClient

import jupyter_mlops
from jupyter_mlops.core.registry.held_aliases import held_version
from jupyter_mlops.core.store.queries import like_prefix
from jupyter_mlops.core.tags import HELD_ALIAS_TAG, HOST_TAG, JOB_ID_TAG, PID_TAG


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_orphans_of_a_host_whose_name_holds_a_quote_are_reaped_and_only_they(
    tracking_uri: str, client: MlflowClient, monkeypatch: pytest.MonkeyPatch
):
    experiment = client.create_experiment("tests")
    dead = str(_dead_pid())
    mine = client.create_run(experiment, tags={HOST_TAG: "lab's-box", PID_TAG: dead})
    # the name with its quote dropped: another host, whose runs this session must not touch
    other = client.create_run(experiment, tags={HOST_TAG: "labs-box", PID_TAG: dead})
    monkeypatch.setattr(socket, "gethostname", lambda: "lab's-box")

    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")

    assert client.get_run(mine.info.run_id).info.status == "KILLED"
    assert client.get_run(other.info.run_id).info.status == "RUNNING"
    message = client.get_run(mine.info.run_id).data.tags["mlops.error.message"]
    assert f"process {dead} on lab's-box ended" in message


def test_a_model_name_holding_a_quote_finds_its_held_version_only(client: MlflowClient):
    for name in ("credit's", "credits"):
        client.create_registered_model(name)
        version = client.create_model_version(name, "runs:/0/model", tags={JOB_ID_TAG: "j1"})
        client.set_model_version_tag(name, version.version, HELD_ALIAS_TAG, "champion")
    client.create_model_version("credit's", "runs:/0/model", tags={JOB_ID_TAG: "j2"})

    assert held_version(client, "credit's", "champion", "j1") == "1"
    assert held_version(client, "credit's", "champion", "j2") is None
    assert held_version(client, 'say "credit\'s"', "champion", "j1") is None


def test_a_like_prefix_cannot_hold_wildcards():
    assert like_prefix("3fa9") == "'3fa9%'"
    for wild in ("3f%", "3f_a"):
        with pytest.raises(ValueError, match="cannot hold"):
            like_prefix(wild)
