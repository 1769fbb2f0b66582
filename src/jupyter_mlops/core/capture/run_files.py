"""The files stored with every captured run, and writing them to its artifact location.

``code/cell.py`` (the cell as written), ``code/notebook.ipynb`` (the saved notebook),
``environment/requirements.txt`` (installed distributions) and, after a failure,
``error/traceback.txt``; all text is passed through secret redaction first.
"""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

from jupyter_mlops.core.capture import environment
from jupyter_mlops.core.capture.notebook import notebook_snapshot
from jupyter_mlops.core.redaction import redact_text
from jupyter_mlops.core.tags import (
    CELL_CODE_ARTIFACT,
    NOTEBOOK_SNAPSHOT_ARTIFACT,
    REQUIREMENTS_ARTIFACT,
    TRACEBACK_ARTIFACT,
)

__all__ = ["closing_files", "code_files", "write_run_files"]


def code_files(cell_source: str) -> dict[str, str]:
    """The code that runs, written when the run starts: a run whose kernel dies keeps it."""
    return {CELL_CODE_ARTIFACT: redact_text(cell_source)}


def closing_files(notebook: Path | None, error: BaseException | None) -> dict[str, str]:
    """Artifact path -> text written when the run ends (secrets masked)."""
    files: dict[str, str] = {}
    snapshot = notebook_snapshot(notebook) if notebook is not None else None
    if snapshot is not None:
        files[NOTEBOOK_SNAPSHOT_ARTIFACT] = snapshot
    files[REQUIREMENTS_ARTIFACT] = environment.requirements_text()
    if error is not None:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        files[TRACEBACK_ARTIFACT] = redact_text("".join(lines))
    return files


def write_run_files(artifact_uri: str, tracking_uri: str, files: dict[str, str]) -> None:
    """Write ``files`` below ``artifact_uri``: in place for a local folder, else uploaded."""
    repository = get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)
    if isinstance(repository, LocalArtifactRepository):
        _write_all(Path(repository.artifact_dir), files)  # no temp copy for the common case
        return
    with tempfile.TemporaryDirectory(prefix="jupyter-mlops-") as tmp:
        _write_all(Path(tmp), files)
        repository.log_artifacts(tmp)  # type: ignore[no-untyped-call]


def _write_all(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
