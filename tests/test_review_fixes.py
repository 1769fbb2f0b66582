"""Behaviour found wrong in review, pinned: counts, quoting, environment, orphans, scripts."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from mlflow import MlflowClient

import jupyter_mlops
import jupyter_mlops.core.capture.session
from support.runs import artifact_text, only_run, runs_of


def test_execution_count_is_the_cells_in_number(shell, client):
    result = shell.run_cell("%%mlops run --no-autolog\nx = 1", store_history=True)
    assert only_run(client).data.tags["mlops.cell.execution_count"] == str(result.execution_count)
    assert only_run(client).info.run_name == f"cell{result.execution_count}"


def test_quoted_flag_values(shell, client):
    shell.run_cell('%%mlops run --no-autolog --name "first try" --tag note="two words"\nx = 1')
    run = only_run(client)
    assert run.info.run_name == "first try"
    assert run.data.tags["note"] == "two words"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("run --param x", "unrecognized arguments: --param"),
        ('run --name "open', "No closing quotation"),
    ],
)
def test_abbreviations_and_unbalanced_quotes_are_usage_errors(shell, client, line, message):
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("mlops", line, "executed = True")
    assert "executed" not in shell.user_ns and runs_of(client) == []


def test_help_names_each_magic_once(shell):
    doc = shell.find_line_magic("mlops").__doc__
    assert "%mlops init [" in doc and "%%mlops run [" in doc and "%mlops runs [" in doc
    assert "%%%" not in doc and "%%mlops init" not in doc


def test_init_does_not_leak_into_the_environment(shell, tracking_uri):
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ
    with capture_output() as shown:
        shell.run_line_magic("mlops", "init")
    assert "(explicit)" in shown.stdout and "from the environment" not in shown.stdout


def test_vscode_notebook_is_found_by_init(shell, tmp_path: Path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "vsc.ipynb")
    shell.user_ns["__vsc_ipynb_file__"] = str(tmp_path / "vsc.ipynb")
    with capture_output() as shown:
        shell.run_line_magic("mlops", "init --experiment tests")
    assert f"{tmp_path / 'vsc.ipynb'}  (found by vscode)" in shown.stdout


def test_dataset_source_names_no_run(shell, client):
    shell.run_cell(
        "%%mlops run --no-autolog\nimport pandas as pd\nframe = pd.DataFrame({'a': [1]})"
    )
    (data,) = only_run(client).inputs.dataset_inputs
    assert json.loads(data.dataset.source) == {
        "tags": {"mlops.fingerprint.format": "jupyter-mlops-fingerprint/1"}
    }


def test_run_of_a_killed_kernel_is_marked_killed_by_the_next_session(
    tracking_uri, client, tmp_path
):
    script = textwrap.dedent(
        f"""
        import os
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "jupyter_mlops")
        ip.run_line_magic("mlops", "init --tracking-uri {tracking_uri} --experiment tests")
        ip.run_cell("%%mlops run --name doomed --no-autolog\\nimport os\\nos._exit(3)")
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert died.returncode == 3, died.stderr
    assert only_run(client).info.status == "RUNNING"
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    run = only_run(client)
    assert run.info.status == "KILLED"
    assert run.data.tags["mlops.error.type"] == "KernelDied"
    assert f"process {run.data.tags['mlops.pid']}" in run.data.tags["mlops.error.message"]
    cell = artifact_text(client, run.info.run_id, "code/cell.py")
    assert cell.startswith("%%mlops run --name doomed")  # written when the run started


def test_script_runs_record_the_script_and_its_git_state(tmp_path: Path, tracking_uri, client):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README").write_text("x")
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    (repo / "train.py").write_text(
        "import jupyter_mlops\n"
        f"jupyter_mlops.init(tracking_uri={tracking_uri!r}, experiment='tests')\n"
        "with jupyter_mlops.run(params={'C': 1.0}, autolog=False):\n    pass\n"
    )
    done = subprocess.run([sys.executable, "train.py"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    tags = only_run(client).data.tags
    assert (tags["mlflow.source.type"], tags["mlflow.source.name"]) == ("LOCAL", "train.py")
    assert tags["mlops.script.path"] == "train.py"
    assert tags["mlops.git.dirty"] == "true"  # train.py is not committed
    assert "mlops.notebook.path" not in tags and only_run(client).info.run_name == "train"
    assert "notebook not found" not in done.stderr


def test_script_run_from_elsewhere_anchors_on_the_script(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (project / "train.py").write_text(
        "import jupyter_mlops\nwith jupyter_mlops.run(autolog=False):\n    pass\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, str(project / "train.py")], cwd=elsewhere, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not (elsewhere / "mlflow.db").exists()
    run = only_run(MlflowClient(f"sqlite:///{project / 'mlflow.db'}"), "train")
    assert run.data.tags["mlops.script.path"] == "train.py"


def test_script_importing_a_module_that_records_lists_its_runs(tmp_path: Path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "lib" / "steps.py").write_text(
        "import jupyter_mlops\n\ndef train():\n"
        "    with jupyter_mlops.run('step', autolog=False):\n        pass\n"
    )
    (tmp_path / "main.py").write_text(
        "import jupyter_mlops\nfrom lib.steps import train\ntrain()\nprint(jupyter_mlops.runs())\n"
    )
    done = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 run(s) of script main.py in experiment 'main'" in done.stdout
    tags = only_run(MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}"), "main").data.tags
    assert (tags["mlops.script.path"], tags["mlops.code.path"]) == ("main.py", "lib/steps.py")


def test_program_hosting_an_ipython_shell_is_not_taken_for_a_script(tmp_path: Path):
    (tmp_path / "harness.py").write_text(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'jupyter_mlops')\n"
        "ip.run_line_magic('mlops', 'init')\n"
    )
    done = subprocess.run(
        [sys.executable, "harness.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "notebook     : not found" in done.stdout and "jupyter-mlops  (default)" in done.stdout


class _AuthRecorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


def test_http_uri_with_credentials_is_probed_with_basic_auth(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _AuthRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://alice:s3cret@127.0.0.1:{server.server_port}/mlflow"
        with pytest.raises(jupyter_mlops.MlopsError) as caught:
            jupyter_mlops.init(tracking_uri=uri)
    finally:
        server.shutdown()
        server.server_close()
    assert "unreachable" not in str(caught.value) and "s3cret" not in str(caught.value)
    assert _AuthRecorder.seen[0] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


@pytest.mark.slow
def test_tracking_password_is_never_printed_into_the_notebook(shell, mlflow_server):
    uri = f"http://ana:s3cret@127.0.0.1:{mlflow_server}"
    with capture_output() as shown:
        shell.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment remote")
        result = shell.run_cell("%%mlops run --no-autolog --metrics m\nm = 1.0")
    assert result.success
    assert "s3cret" not in shown.stdout + shown.stderr
    assert "ana:***@" in shown.stdout
    client = jupyter_mlops.core.capture.session.current().resolved.client
    (run,) = client.search_runs([client.get_experiment_by_name("remote").experiment_id])
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 1.0}


def test_a_trailing_comment_on_a_magic_line_is_ignored(shell, client):
    shell.run_line_magic("mlops", "init --experiment commented  # where runs go")
    result = shell.run_cell("%%mlops run --no-autolog --metrics m  # one run\nm = 2.0")
    assert result.success
    (run,) = runs_of(client, "commented")
    assert run.data.metrics == {"m": 2.0}
    assert run.data.tags["mlflow.runName"] != "#"
