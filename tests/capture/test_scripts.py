"""Runs recorded from a plain Python script: the script, its git state, where the store is, and
a program that hosts an IPython shell is not taken for a script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from support.runs import only_run


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
