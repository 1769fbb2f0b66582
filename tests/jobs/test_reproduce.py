"""``jupyter-mlops reproduce``: re-execute a version's notebook and compare, with real kernels.

One project, one job that registers ``pd-model@champion``, then: reproduced as is (exit 0);
after the training data changed (exit 1, "data changed"); a version whose notebook can be
found neither in git nor on its run (exit 1, "notebook missing"); and the bad inputs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

BIN = Path(sys.executable).parent
TIMEOUT_S = 240

pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "jupyter-mlops"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _write_data(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = (frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    frame.to_csv(path, index=False)


NOTEBOOK_CELLS = [
    ("C: float = 1.0  # regularisation", ["parameters"]),
    ("%load_ext jupyter_mlops\n%mlops init", []),
    (
        "%%mlops run --name train --params C --metrics score\n"
        "import pandas as pd\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "df = pd.read_csv('data.csv')\n"
        "X_train, y_train = df[['a', 'b']], df['y']\n"
        "model = LogisticRegression(C=C).fit(X_train, y_train)\n"
        "score = model.score(X_train, y_train)",
        [],
    ),
    ("%mlops register model --name pd-model --alias champion", []),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed project whose job registered ``pd-model`` version 1 (@champion)."""
    root = tmp_path_factory.mktemp("reproduce") / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    _write_data(root / "data.csv", seed=1)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source, tags in NOTEBOOK_CELLS:
        notebook.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    nbformat.write(notebook, str(root / "train.ipynb"))
    (root / ".gitignore").write_text("mlflow.db\nmlruns/\nbuild/\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "train")
    done = _cli("run", "train.ipynb", "-p", "C", "0.5", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def _client(root: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{root / 'mlflow.db'}")


def test_an_unchanged_project_reproduces_its_champion(project: Path) -> None:
    versions_before = len(_client(project).search_model_versions("name = 'pd-model'"))

    done = _cli("reproduce", "pd-model@champion", cwd=project)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "REPRODUCED" in done.stdout
    assert "git commit" in done.stdout  # the notebook came from the recorded commit
    assert "C=0.5" in done.stdout  # the job's typed parameter, not the notebook default
    assert "score" in done.stdout and "X_train" in done.stdout
    # The re-execution registered into a throwaway store, never into the real one.
    assert len(_client(project).search_model_versions("name = 'pd-model'")) == versions_before


def test_changed_training_data_is_not_reproduced(project: Path) -> None:
    original = (project / "data.csv").read_bytes()
    _write_data(project / "data.csv", seed=2)
    try:
        done = _cli("reproduce", "pd-model/1", cwd=project)
    finally:
        (project / "data.csv").write_bytes(original)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT REPRODUCED" in done.stdout
    assert "data changed: X_train, y_train" in done.stdout


def test_a_version_whose_notebook_is_gone_says_so(project: Path, tmp_path: Path) -> None:
    """Registered outside git, then the run's notebook snapshot deleted: nothing to run."""
    client = _client(project)
    version = client.get_model_version("pd-model", "1")
    run = client.get_run(version.tags["mlops.source.run_id"])
    snapshot = Path(run.info.artifact_uri.removeprefix("file://")) / "code" / "notebook.ipynb"
    saved = snapshot.read_bytes()
    client.set_model_version_tag("pd-model", "1", "mlops.git.dirty", "true")
    snapshot.unlink()
    try:
        done = _cli("reproduce", "pd-model/1", cwd=project)
    finally:
        snapshot.write_bytes(saved)
        client.set_model_version_tag("pd-model", "1", "mlops.git.dirty", "false")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "notebook missing" in done.stdout
    assert "dirty" in done.stdout


def test_bad_references_fail_in_one_line(project: Path) -> None:
    unknown = _cli("reproduce", "pd-modle@champion", cwd=project)
    assert unknown.returncode == 1
    assert "did you mean 'pd-model'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    alias = _cli("reproduce", "pd-model@champoin", cwd=project)
    assert alias.returncode == 1
    assert "champion" in alias.stderr

    negative = _cli("reproduce", "pd-model@champion", "--tolerance", "-1", cwd=project)
    assert negative.returncode == 2
    assert "--tolerance" in negative.stderr
