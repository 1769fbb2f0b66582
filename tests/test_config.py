"""The one resolution order for tracking URI, experiment and project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.core.config import find_project_root, resolve_settings
from jupyter_mlops.core.errors import ErrorCode, MlopsError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "notebooks" / "deep").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\n')
    notebook = root / "notebooks" / "deep" / "scoring.ipynb"
    notebook.write_text("{}")
    return root


def test_defaults_follow_the_notebook(project: Path):
    settings = resolve_settings(notebook=project / "notebooks" / "deep" / "scoring.ipynb", env={})
    assert settings.project_root == project.resolve()
    assert settings.tracking_uri == f"sqlite:///{project.resolve() / 'mlflow.db'}"
    assert (settings.tracking_uri_source, settings.experiment, settings.experiment_source) == (
        "default",
        "scoring",
        "default",
    )


def test_git_folder_marks_the_root(tmp_path: Path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "repo" / "a" / "b") == (tmp_path / "repo").resolve()


def test_no_marker_means_the_notebook_folder(tmp_path: Path):
    folder = tmp_path / "loose"
    folder.mkdir()
    assert find_project_root(folder) == folder.resolve()


def test_without_notebook_experiment_is_ours_not_mlflows_default(tmp_path: Path):
    settings = resolve_settings(cwd=tmp_path, env={})
    assert settings.experiment == "jupyter-mlops"


def test_pyproject_beats_default_and_anchors_relative_sqlite(project: Path):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\n[tool.jupyter-mlops]\ntracking_uri = "sqlite:///store/runs.db"\n'
        'experiment = "credit"\n'
    )
    settings = resolve_settings(notebook=project / "notebooks" / "deep" / "scoring.ipynb", env={})
    assert settings.tracking_uri == f"sqlite:///{(project / 'store' / 'runs.db').resolve()}"
    assert (settings.tracking_uri_source, settings.experiment_source) == ("pyproject", "pyproject")
    assert settings.experiment == "credit"


def test_environment_beats_pyproject(project: Path):
    (project / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntracking_uri = "sqlite:///a.db"\n'
    )
    env = {"MLFLOW_TRACKING_URI": "sqlite:////tmp/env.db", "MLFLOW_EXPERIMENT_NAME": "from-env"}
    settings = resolve_settings(notebook=project / "notebooks" / "deep" / "scoring.ipynb", env=env)
    assert (settings.tracking_uri, settings.tracking_uri_source) == (
        "sqlite:////tmp/env.db",
        "environment",
    )
    assert (settings.experiment, settings.experiment_source) == ("from-env", "environment")


def test_argument_beats_everything(project: Path):
    env = {"MLFLOW_TRACKING_URI": "sqlite:////tmp/env.db", "MLFLOW_EXPERIMENT_NAME": "from-env"}
    settings = resolve_settings(
        tracking_uri="sqlite:////tmp/arg.db", experiment="arg", cwd=project, env=env
    )
    assert (settings.tracking_uri, settings.experiment) == ("sqlite:////tmp/arg.db", "arg")
    assert (settings.tracking_uri_source, settings.experiment_source) == ("argument", "argument")


def test_password_is_masked_for_display(tmp_path: Path):
    settings = resolve_settings(
        tracking_uri="postgresql://ml:s3cret@db/mlflow", cwd=tmp_path, env={}
    )
    assert settings.display_uri == "postgresql://ml:***@db/mlflow"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[tool.jupyter-mlops\n", "cannot read"),
        ('[tool.jupyter-mlops]\ntracking_url = "x"\n', "unknown key(s) tracking_url"),
        ("[tool.jupyter-mlops]\nexperiment = 3\n", "must be a non-empty string"),
    ],
)
def test_bad_pyproject_is_a_clear_config_error(tmp_path: Path, content: str, message: str):
    (tmp_path / "pyproject.toml").write_text(content)
    with pytest.raises(MlopsError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        resolve_settings(cwd=tmp_path, env={})
    assert caught.value.code is ErrorCode.CONFIG


def test_a_validation_policy_in_pyproject_leaves_the_settings_alone(tmp_path: Path):
    """``[tool.jupyter-mlops.models.<MODEL>]`` holds validation policies (core/gates): the
    settings table accepts it, and the gates read it."""
    from jupyter_mlops.core.gates.policy import load_policy

    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\nexperiment = "credit"\n'
        '[tool.jupyter-mlops.models.credit-risk]\nprotected_aliases = ["champion"]\n'
        "[tool.jupyter-mlops.models.credit-risk.gates]\n"
        "metrics.roc_auc = { min = 0.7 }\n",
        encoding="utf-8",
    )
    settings = resolve_settings(cwd=tmp_path)
    assert settings.experiment == "credit"
    policy = load_policy("credit-risk", start=tmp_path)
    assert policy.protected_aliases == ("champion",)
    assert policy.metric("roc_auc") is not None
