"""``%mlops init``, ``%mlops runs``, help, and lineage to the notebook, cell and commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from support.runs import only_run, runs_of

RUN_CELL = "%%mlops run --name lineage --no-autolog\nx = 1"


def test_init_prints_resolved_store_experiment_and_notebook(shell, tmp_path: Path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "scoring.ipynb")
    with capture_output() as shown:
        shell.run_line_magic(
            "mlops", f"init --notebook {tmp_path / 'scoring.ipynb'} --experiment credit"
        )
    pairs = [line.split(" : ", 1) for line in shown.stdout.strip().splitlines()]
    lines = {label.strip(): value for label, value in pairs}
    assert lines["tracking URI"] == f"sqlite:///{tmp_path}/mlflow.db  (explicit)"
    assert lines["experiment"] == "credit  (explicit)"
    assert lines["notebook"] == f"{tmp_path / 'scoring.ipynb'}  (found by argument)"
    assert lines["project root"] == str(tmp_path)
    assert lines["open the UI"].startswith("mlflow ui --backend-store-uri sqlite:///mlflow.db")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("sqlite:////no/such/folder/mlflow.db", "folder /no/such/folder does not exist"),
        ("http://127.0.0.1:9", "tracking server http://127.0.0.1:9 is unreachable"),
        ("nonsense", "has no scheme"),
        ("postgresql://ml:s3cret@127.0.0.1:9/db", "postgresql://ml:***@127.0.0.1:9/db"),
    ],
)
def test_bad_tracking_uri_is_one_clear_line_and_records_nowhere(shell, client, uri, message):
    with pytest.raises(UsageError, match=message.replace("*", r"\*")) as caught:
        shell.run_line_magic("mlops", f"init --tracking-uri {uri}")
    assert "s3cret" not in str(caught.value)
    assert "--tracking-uri" in str(caught.value) or "MLFLOW_TRACKING_URI" in str(caught.value)
    result = shell.run_cell(RUN_CELL)  # neither the chosen store nor the previous one is used
    assert isinstance(result.error_in_exec, UsageError)
    assert runs_of(client) == []


def test_unreachable_store_means_the_cell_is_not_executed(tmp_path: Path):
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    try:
        ip.user_ns.pop("executed", None)
        import os

        os.environ["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:9"
        try:
            with pytest.raises(UsageError, match="unreachable"):
                ip.run_cell_magic("mlops", "run", "executed = True")
        finally:
            del os.environ["MLFLOW_TRACKING_URI"]
        assert "executed" not in ip.user_ns
    finally:
        ip.run_line_magic("unload_ext", "jupyter_mlops")


def test_runs_lists_this_notebooks_runs_newest_first(shell, client, tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nbformat.write(nb, tmp_path / "a.ipynb")
    shell.run_line_magic("mlops", f"init --notebook {tmp_path / 'a.ipynb'}")
    shell.run_cell("%%mlops run --name one --no-autolog --params p --metrics m\np = 'x'\nm = 0.5")
    shell.run_cell("%%mlops run --name two --no-autolog\nq = 2")
    table = shell.run_line_magic("mlops", "runs --limit 5")
    text = repr(table)
    assert "2 run(s) of notebook a.ipynb" in text
    assert text.index("two") < text.index("one")
    assert "p=x" in text and "m=0.5" in text
    assert "<table>" in table._repr_html_()
    assert "1 run(s)" in repr(shell.run_line_magic("mlops", "runs --limit 1"))
    with pytest.raises(UsageError, match="positive"):
        shell.run_line_magic("mlops", "runs --limit 0")
    with pytest.raises(UsageError, match="invalid int value"):
        shell.run_line_magic("mlops", "runs --limit many")


def test_help_lists_every_subcommand_and_flag(shell):
    doc = shell.find_line_magic("mlops").__doc__
    for fragment in (
        "%mlops init",
        "--tracking-uri",
        "%%mlops run",
        "--no-autolog",
        "--tag",
        "%mlops runs",
        "--limit",
    ):
        assert fragment in doc


def test_lineage_from_jupyter_server_notebook_in_git(shell, client, tmp_path: Path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas"), nbformat.v4.new_code_cell(RUN_CELL)]
    nbformat.write(nb, repo / "notebooks" / "train.ipynb")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "nb"], check=True)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.chdir(repo / "notebooks")
    monkeypatch.setenv("JPY_SESSION_NAME", "repo/notebooks/train.ipynb")
    shell.run_line_magic(
        "mlops", f"init --tracking-uri sqlite:///{tmp_path}/mlflow.db --experiment tests"
    )

    shell.run_cell(RUN_CELL)  # no cell id from a frontend: matched by source in the saved file
    tags = only_run(client).data.tags
    assert tags["mlops.notebook.found_by"] == "jupyter-server"
    assert tags["mlflow.source.name"] == tags["mlops.notebook.path"] == "notebooks/train.ipynb"
    assert tags["mlops.project.root"] == str(repo.resolve())
    assert tags["mlops.cell.id"] == nb.cells[1].id
    assert tags["mlflow.source.git.commit"] == head
    assert tags["mlops.git.dirty"] == "false"

    (repo / "notebooks" / "train.ipynb").write_text(
        (repo / "notebooks" / "train.ipynb").read_text() + "\n"
    )
    shell.run_cell(RUN_CELL)
    assert runs_of(client)[0].data.tags["mlops.git.dirty"] == "true"


def test_untracked_notebook_counts_as_dirty(shell, client, tmp_path: Path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README").write_text("x")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    nbformat.write(nbformat.v4.new_notebook(), repo / "new.ipynb")
    shell.run_line_magic("mlops", f"init --notebook {repo / 'new.ipynb'}")
    shell.run_cell(RUN_CELL)
    assert only_run(client, "tests").data.tags["mlops.git.dirty"] == "true"


def test_load_ext_and_init_in_one_cell_find_the_notebook_by_source(tmp_path: Path, monkeypatch):
    """papermill's Python API names no notebook: the init cell's own source finds it."""
    source = "%load_ext jupyter_mlops\n%mlops init --tracking-uri sqlite:///mlflow.db"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell(RUN_CELL)]
    nbformat.write(nb, tmp_path / "found.ipynb")
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    try:
        with capture_output() as shown:
            ip.run_cell(source, store_history=True)
        assert "found by search" in shown.stdout, shown.stdout + shown.stderr
        assert "notebook not found" not in shown.stderr
    finally:
        ip.run_line_magic("unload_ext", "jupyter_mlops")


def test_init_keeps_a_notebook_found_earlier_by_search(tmp_path: Path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(RUN_CELL)]
    nbformat.write(nb, tmp_path / "searched.ipynb")
    ip = InteractiveShell.instance()
    ip.reset(new_session=False)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    try:
        ip.run_line_magic("mlops", "init --tracking-uri sqlite:///mlflow.db")  # not in the file
        ip.run_cell(RUN_CELL, store_history=True)  # this cell is: the notebook is found
        with capture_output() as shown:
            ip.run_cell("%mlops init --experiment again", store_history=True)
        assert f"{tmp_path / 'searched.ipynb'}  (found by search)" in shown.stdout
    finally:
        ip.run_line_magic("unload_ext", "jupyter_mlops")


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
