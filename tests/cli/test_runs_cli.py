"""``jupyter-mlops runs``: list a notebook's runs, compare runs, soft-delete runs.

The module's store holds three runs recorded by the real magics from ``train.ipynb`` (in a
git repository): run A (C=0.5, registered as ``credit-risk/1``), run B (C=1.0, registered by
nothing) and run C (C=1.0, named by the ``mlops.source.run_id`` tag of ``bare/1``, a version
created with plain MLflow). Tests that delete work on a copy of that store.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from mlflow import MlflowClient

import jupyter_mlops
from support.registry import (
    DATA_CELL,
    REGISTER_LINE,
    cli,
    copy_store,
    fit_cell,
    git_commit_all,
    module_shell,
    run_ok,
    write_notebook,
)

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Store:
    root: Path
    uri: str
    notebook: Path
    run_a: str  # C=0.5, source of credit-risk/1
    run_b: str  # C=1.0, no version
    run_c: str  # C=1.0, named by bare/1's mlops.source.run_id tag
    cell_ids: dict[str, str]  # run id -> the cell that recorded it
    commit: str
    magic_text: str  # what %mlops runs showed in the notebook


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> Store:
    root = tmp_path_factory.mktemp("runs")
    uri = copy_store(_migrated_store, root)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\n\n[tool.jupyter-mlops]\nexperiment = "tests"\n',
        encoding="utf-8",
    )
    (root / ".gitignore").write_text("mlflow.db\nmlruns/\n", encoding="utf-8")
    cells = [DATA_CELL, fit_cell(0.5), REGISTER_LINE, fit_cell(1.0), fit_cell(1.0)]
    notebook = root / "train.ipynb"
    ids = write_notebook(notebook, cells)
    commit = git_commit_all(root)
    with module_shell(root, uri, notebook) as ip:
        for source, cell_id in zip(cells, ids, strict=True):
            run_ok(ip, source, cell_id)
        magic_text = jupyter_mlops.runs().to_text()
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tests")
    assert experiment is not None
    newest_first = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"]
    )
    run_c, run_b, run_a = (run.info.run_id for run in newest_first)
    assert client.get_model_version("credit-risk", "1").run_id == run_a
    client.create_registered_model("bare")
    client.create_model_version(
        "bare", source=(root / "elsewhere").as_uri(), tags={"mlops.source.run_id": run_c}
    )
    cell_ids = {run.info.run_id: run.data.tags["mlops.cell.id"] for run in newest_first}
    return Store(root, uri, notebook, run_a, run_b, run_c, cell_ids, commit, magic_text)


@pytest.fixture
def scratch(store: Store, tmp_path: Path) -> Store:
    """A copy of the module's store that a test may delete from."""
    database = tmp_path / "scratch" / "mlflow.db"
    database.parent.mkdir()
    shutil.copyfile(store.root / "mlflow.db", database)
    return replace(store, uri=f"sqlite:///{database}")


def _runs(uri: str, *run_ids: str) -> list:
    client = MlflowClient(uri)
    return [client.get_run(run_id) for run_id in run_ids]


def _stage(uri: str, run_id: str) -> str:
    return MlflowClient(uri).get_run(run_id).info.lifecycle_stage


# --- runs [NOTEBOOK] ---------------------------------------------------------------------


def test_runs_of_a_notebook_is_the_table_the_magic_shows(store: Store) -> None:
    result = cli("runs", str(store.notebook), "--tracking-uri", store.uri, "--experiment", "tests")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n") == store.magic_text
    assert result.stdout.startswith("3 run(s) of notebook train.ipynb in experiment 'tests'")


def test_runs_resolves_store_and_experiment_from_the_project(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.root)
    result = cli("runs", "train.ipynb", "--limit", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("1 run(s) of notebook train.ipynb in experiment 'tests'")
    assert "C=1.0" in result.stdout and "C=0.5" not in result.stdout


def test_runs_json_is_newest_first_with_notebook_and_cell(store: Store) -> None:
    result = cli("runs", str(store.notebook), "--json", "--tracking-uri", store.uri)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["experiment"] == "tests"  # from pyproject.toml next to the notebook
    assert document["notebook"] == "train.ipynb"
    runs = document["runs"]
    assert [r["run_id"] for r in runs] == [store.run_c, store.run_b, store.run_a]
    first = runs[-1]
    assert first["params"] == {"C": "0.5"}
    assert set(first["metrics"]) == {"acc"}
    assert first["status"] == "FINISHED"
    assert first["notebook"] == "train.ipynb"
    assert first["cell_id"] == store.cell_ids[store.run_a]
    assert first["start_time"] and first["duration_s"] >= 0
    assert first["name"]


def test_runs_without_a_notebook_lists_the_experiment_and_says_so(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.root)
    result = cli("runs")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("3 run(s) in experiment 'tests' (notebook unknown: all runs)")


def test_runs_of_a_notebook_without_runs_creates_nothing(store: Store, tmp_path: Path) -> None:
    other = tmp_path / "fresh.ipynb"
    write_notebook(other, ["x = 1"])
    client = MlflowClient(store.uri)
    before = [e.name for e in client.search_experiments()]
    result = cli("runs", str(other), "--tracking-uri", store.uri)
    assert result.exit_code == 0, result.stderr
    assert "0 run(s) of notebook" in result.stdout and "(no runs yet)" in result.stdout
    assert [e.name for e in client.search_experiments()] == before


def test_runs_on_a_missing_store_fails_and_creates_nothing(tmp_path: Path) -> None:
    notebook = tmp_path / "nb.ipynb"
    write_notebook(notebook, ["x = 1"])
    result = cli("runs", str(notebook))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("jupyter-mlops: error: no MLflow store at")
    assert not (tmp_path / "mlflow.db").exists()


def test_runs_of_a_missing_notebook_or_a_mistyped_command(store: Store, tmp_path: Path) -> None:
    missing = cli("runs", str(tmp_path / "gone.ipynb"), "--tracking-uri", store.uri)
    assert missing.exit_code == 1
    assert "gone.ipynb" in missing.stderr and missing.stdout == ""

    typo = cli("runs", "compre", store.run_a, store.run_b, "--tracking-uri", store.uri)
    assert typo.exit_code == 2
    assert "compre" in typo.stderr and "compare" in typo.stderr and typo.stdout == ""


def test_runs_rejects_a_limit_below_one(store: Store) -> None:
    result = cli("runs", str(store.notebook), "--limit", "0", "--tracking-uri", store.uri)
    assert result.exit_code == 2
    assert "--limit" in result.stderr and result.stdout == ""


def test_each_runs_command_has_help() -> None:
    group = cli("runs", "--help")
    assert group.exit_code == 0
    for words in ("[NOTEBOOK]", "--limit", "--json", "compare", "delete"):
        assert words in group.stdout
    compare = cli("runs", "compare", "--help")
    assert compare.exit_code == 0 and "RUN_ID" in compare.stdout
    delete = cli("runs", "delete", "--help")
    assert delete.exit_code == 0 and "--yes" in delete.stdout and "--force" in delete.stdout


# --- runs compare ------------------------------------------------------------------------


def test_compare_marks_what_differs(store: Store) -> None:
    result = cli("runs", "compare", store.run_a, store.run_b, "--tracking-uri", store.uri)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Comparing 2 runs (* = differs)"

    def row(key: str) -> str:
        [found] = [line for line in lines if line[2:].split()[:1] == [key]]
        return found

    assert row("C").startswith("* ") and row("C").split()[2:] == ["0.5", "1.0"]
    acc = [
        f"{float(r.data.metrics['acc']):.6g}" for r in _runs(store.uri, store.run_a, store.run_b)
    ]
    assert row("acc").split()[-2:] == acc
    assert row("acc").startswith("* " if acc[0] != acc[1] else "  ")
    assert row("X_train").startswith("  ")  # same data: not marked
    assert row("commit").startswith("  ") and row("commit").split()[1:] == [store.commit[:12]] * 2
    assert row("cell").startswith("* ")  # recorded by two different cells
    for heading in ("params", "metrics", "data", "source"):
        assert heading in lines


def test_compare_accepts_unique_prefixes_and_prints_json(store: Store) -> None:
    result = cli(
        "runs", "compare", store.run_b[:8], store.run_c, "--json", "--tracking-uri", store.uri
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [r["run_id"] for r in document["runs"]] == [store.run_b, store.run_c]
    rows = {(r["section"], r["key"]): r for r in document["rows"]}
    assert rows[("params", "C")] == {
        "section": "params",
        "key": "C",
        "values": ["1.0", "1.0"],
        "differs": False,
    }
    assert rows[("source", "commit")]["values"] == [store.commit, store.commit]
    fingerprint = rows[("data", "X_train")]["values"]
    assert len(fingerprint[0]) == 32 and fingerprint[0] == fingerprint[1]
    assert rows[("source", "cell")]["differs"] is True


def test_compare_needs_two_runs(store: Store) -> None:
    result = cli("runs", "compare", store.run_a, "--tracking-uri", store.uri)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "at least 2" in result.stderr


def test_compare_with_an_unknown_run_says_so_in_one_line(store: Store) -> None:
    unknown = "0" * 32
    result = cli("runs", "compare", store.run_a, unknown, "--tracking-uri", store.uri)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"jupyter-mlops: error: no run {unknown} in {store.uri}"]


def test_compare_rejects_what_is_not_a_run_id(store: Store) -> None:
    result = cli("runs", "compare", store.run_a, "zz-top", "--tracking-uri", store.uri)
    assert result.exit_code == 2
    assert result.stdout == "" and "zz-top" in result.stderr


# --- runs delete -------------------------------------------------------------------------


def test_delete_soft_deletes_a_run(scratch: Store) -> None:
    result = cli("runs", "delete", scratch.run_b, "--yes", "--tracking-uri", scratch.uri)
    assert result.exit_code == 0, result.stderr
    assert f"deleted run {scratch.run_b}" in result.stdout
    assert _stage(scratch.uri, scratch.run_b) == "deleted"
    assert _stage(scratch.uri, scratch.run_a) == "active"
    listed = cli("runs", str(scratch.notebook), "--json", "--tracking-uri", scratch.uri)
    assert scratch.run_b not in [r["run_id"] for r in json.loads(listed.stdout)["runs"]]
    again = cli("runs", "delete", scratch.run_b, "--yes", "--tracking-uri", scratch.uri)
    assert again.exit_code == 1 and "deleted" in again.stderr
    by_prefix = cli(
        "runs", "compare", scratch.run_b[:8], scratch.run_a, "--tracking-uri", scratch.uri
    )
    assert by_prefix.exit_code == 1 and by_prefix.stdout == ""
    assert by_prefix.stderr.splitlines() == [
        f"jupyter-mlops: error: run {scratch.run_b} is deleted "
        f"(restore it with 'mlflow runs restore --run-id {scratch.run_b}')"
    ]


def test_delete_refuses_the_source_of_a_version_and_deletes_none(scratch: Store) -> None:
    result = cli(
        "runs", "delete", scratch.run_b, scratch.run_a, "--yes", "--tracking-uri", scratch.uri
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "credit-risk/1" in result.stderr and "--force" in result.stderr
    assert _stage(scratch.uri, scratch.run_a) == "active"
    assert _stage(scratch.uri, scratch.run_b) == "active"  # checked first: none deleted

    tagged = cli("runs", "delete", scratch.run_c, "--yes", "--tracking-uri", scratch.uri)
    assert tagged.exit_code == 1 and "bare/1" in tagged.stderr
    assert _stage(scratch.uri, scratch.run_c) == "active"


def test_delete_refuses_the_job_run_that_registered_a_version(scratch: Store) -> None:
    client = MlflowClient(scratch.uri)
    client.create_registered_model("by-job")
    client.create_model_version(
        "by-job", source=(scratch.root / "job").as_uri(), tags={"mlops.job.run_id": scratch.run_b}
    )
    result = cli("runs", "delete", scratch.run_b, "--yes", "--tracking-uri", scratch.uri)
    assert result.exit_code == 1 and "by-job/1" in result.stderr
    assert _stage(scratch.uri, scratch.run_b) == "active"


def test_delete_with_force_deletes_and_names_the_version(scratch: Store) -> None:
    result = cli("runs", "delete", scratch.run_a, "--yes", "--force", "--tracking-uri", scratch.uri)
    assert result.exit_code == 0, result.stderr
    assert "credit-risk/1" in result.stdout
    assert _stage(scratch.uri, scratch.run_a) == "deleted"
    version = MlflowClient(scratch.uri).get_model_version("credit-risk", "1")
    assert version.run_id == scratch.run_a  # the version itself is untouched


def test_delete_of_an_unknown_run_deletes_nothing(scratch: Store) -> None:
    unknown = "f" * 32
    result = cli("runs", "delete", scratch.run_b, unknown, "--yes", "--tracking-uri", scratch.uri)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"jupyter-mlops: error: no run {unknown} in {scratch.uri}"
    ]
    assert _stage(scratch.uri, scratch.run_b) == "active"


@pytest.mark.slow
def test_delete_without_yes_and_without_a_terminal_refuses(scratch: Store) -> None:
    result = subprocess.run(
        [
            str(BIN / "jupyter-mlops"),
            "runs",
            "delete",
            scratch.run_b,
            "--tracking-uri",
            scratch.uri,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert _stage(scratch.uri, scratch.run_b) == "active"


def _answer_in_terminal(scratch: Store, answer: bytes) -> tuple[int, str]:
    """Run ``runs delete`` with a real terminal as stdin, answer its question."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [
            str(BIN / "jupyter-mlops"),
            "runs",
            "delete",
            scratch.run_b,
            "--tracking-uri",
            scratch.uri,
        ],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, "TERM": "dumb"},
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 120
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        if select.select([main], [], [], 1)[0]:
            seen += os.read(main, 4096)
    os.write(main, answer + b"\n")
    while process.poll() is None and time.monotonic() < deadline:
        if select.select([main], [], [], 0.5)[0]:
            try:
                seen += os.read(main, 4096)
            except OSError:
                break
    code = process.wait(timeout=30)
    os.close(main)
    return code, seen.decode(errors="replace")


@pytest.mark.slow
def test_delete_asks_in_a_terminal(scratch: Store) -> None:
    code, output = _answer_in_terminal(scratch, b"n")
    assert "Delete 1 run(s)?" in output and scratch.run_b in output
    assert code == 1 and "nothing deleted" in output
    assert _stage(scratch.uri, scratch.run_b) == "active"

    code, output = _answer_in_terminal(scratch, b"y")
    assert code == 0, output
    assert _stage(scratch.uri, scratch.run_b) == "deleted"
