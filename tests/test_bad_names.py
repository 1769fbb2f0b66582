"""Names that are not names: control characters, 5,000-character model names and version
numbers that only look like digits (``m1/²``) are refused at every entry point - the magic
(one ``UsageError`` line), the CLI (exit 2, one line) and the REST routes (400) - and nothing
is written (issue 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from mlflow import MlflowClient

BIN = Path(sys.executable).parent
LONG = "m" * 5000
BAD_NAMES = ["m1\x00", "m1\x1b[2K", "m1\u200b", LONG]


def _model_with_a_version(client: MlflowClient, name: str = "m1") -> None:
    client.create_registered_model(name)
    client.create_model_version(name, source="file:///nowhere/model")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    return subprocess.run(
        [str(BIN / "jupyter-mlops"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


# -- the magic ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["m1/²", "m1/١", "m1/½", "m1\x00", "m1@champ\x07", LONG])
def test_lineage_magic_refuses_a_bad_reference_in_one_line(shell, ref: str):
    with pytest.raises(UsageError) as caught:
        shell.run_line_magic("mlops", f"lineage {ref}")
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300, message


@pytest.mark.parametrize("name", BAD_NAMES)
def test_register_magic_refuses_a_bad_name_and_writes_nothing(shell, client, name: str):
    shell.user_ns["model"] = object()
    with pytest.raises(UsageError) as caught:
        shell.run_line_magic("mlops", f"register model --name {name}")
    assert "\n" not in str(caught.value)
    assert "control or invisible" in str(caught.value) or "limit is 256" in str(caught.value)
    assert client.search_registered_models() == []


def test_register_magic_refuses_a_reason_with_control_characters(shell, client):
    shell.user_ns["model"] = object()
    with pytest.raises(UsageError, match="reason"):
        shell.run_line_magic(
            "mlops", "register model --name m1 --alias champion --reason ok\x1b[2Kforged"
        )
    assert client.search_registered_models() == []


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("ref", ["m1/²", "m1\x1b[2K/1", "m1@a\x07"])
def test_cli_lineage_refuses_a_bad_reference_with_exit_2(tmp_path: Path, ref: str):
    done = _cli("lineage", ref, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("jupyter-mlops: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_cli_alias_commands_refuse_control_characters_and_move_nothing(
    tracking_uri: str, client: MlflowClient, tmp_path: Path
):
    _model_with_a_version(client)
    for args in (
        ["alias", "set", "m1", "champion", "1", "--reason", "fine\x1b[1A\x1b[2Kforged"],
        ["alias", "set", "m1\x07", "champion", "1", "--reason", "fine"],
        ["alias", "history", "m1\x1b[2K"],
        ["alias", "history", LONG],
        ["alias", "set", "m1", "champion", "²", "--reason", "fine"],
    ):
        done = _cli(*args, "--tracking-uri", tracking_uri, cwd=tmp_path)
        assert done.returncode == 2, (args[:3], done.stderr)
        assert "Traceback" not in done.stderr
        if "²" in args:  # click's own usage error: usage line, hint, error line
            assert done.stderr.splitlines()[-1].startswith("Error: VERSION must be a version")
        else:
            assert done.stderr.startswith("jupyter-mlops: error: ")
            assert done.stderr.count("\n") == 1
    assert client.get_registered_model("m1").aliases == {}
    assert [m.name for m in client.search_registered_models()] == ["m1"]


# -- the REST routes ----------------------------------------------------------------------------


@pytest.fixture
def root_store(jp_root_dir: Path, _migrated_store: Path) -> MlflowClient:
    """The server root is a project with a store holding model ``m1`` version 1."""
    (jp_root_dir / "pyproject.toml").write_text('[project]\nname = "p"\n')
    shutil.copyfile(_migrated_store, jp_root_dir / "mlflow.db")
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    _model_with_a_version(client)
    return client


@pytest.mark.parametrize("name", ["m1\x00", "m1\x1b[2K", "m1\u200b", LONG])
async def test_registering_under_a_bad_name_is_a_400_and_writes_nothing(
    api, root_store: MlflowClient, name: str
):
    status, body = await api("POST", "models", name, "versions", body={"run_id": "0" * 32})
    assert status == 400, body
    assert [m.name for m in root_store.search_registered_models()] == ["m1"]


async def test_a_reason_with_control_characters_is_a_400(api, root_store: MlflowClient):
    body = {"run_id": "0" * 32, "alias": "champion", "reason": "ok\x1b[2Kforged"}
    status, reply = await api("POST", "models", "m2", "versions", body=body)
    assert status == 400, reply
    assert "reason" in reply["message"]


@pytest.mark.parametrize("name", ["m1\x00", "m1\x07", "m1\u200b", LONG])
async def test_reading_a_model_by_a_bad_name_is_a_400(api, root_store, name: str):
    status, body = await api("GET", "models", name)
    assert status == 400, body
    assert set(body) == {"error", "message"} and body["error"] == "usage"


# Tornado itself blanks ASCII control characters in query arguments; the rest is ours.
@pytest.mark.parametrize(
    ("model", "ref"), [("m1", "²"), ("m1", "/١"), ("m1\u200b", ""), ("m1", "@a\u202e"), (LONG, "")]
)
async def test_lineage_route_refuses_a_bad_reference_with_a_400(api, root_store, model, ref):
    status, body = await api("GET", "lineage", params={"model": model, "ref": ref})
    assert status == 400, body
