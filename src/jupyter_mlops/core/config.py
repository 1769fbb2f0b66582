"""Where runs go: one resolution order for the tracking URI, the experiment and the project root.

Order, highest first (documented in ``docs/configuration.md``):

* tracking URI: explicit argument (``%mlops init --tracking-uri``) > ``MLFLOW_TRACKING_URI`` >
  ``tracking_uri`` in ``[tool.jupyter-mlops]`` of the nearest ``pyproject.toml`` >
  ``sqlite:///<project root>/mlflow.db``;
* experiment: explicit argument > ``MLFLOW_EXPERIMENT_NAME`` > ``experiment`` in the same table >
  the notebook's file name without extension (``jupyter-mlops`` when no notebook is known);
* store timeout (seconds a store call may take while a run is captured):
  ``JUPYTER_MLOPS_STORE_TIMEOUT`` > ``store_timeout`` in the same table > 10.

The project root is the nearest ancestor of the notebook's folder (else of the working
directory) that holds ``.git`` or ``pyproject.toml``; else that folder itself.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import mask_uri

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_STORE_TIMEOUT",
    "ENVIRONMENT_VARIABLES",
    "JOB_ID_ENV",
    "JOB_NAME_ENV",
    "JOB_PARENT_ENV",
    "NOTEBOOK_ENV",
    "STORE_TIMEOUT_ENV",
    "ProjectConfig",
    "Settings",
    "find_project_root",
    "parse_store_timeout",
    "read_project_config",
    "resolve_settings",
    "sqlite_database",
]

#: Environment variables ``jupyter-mlops run`` sets for the kernel of a job (see
#: :mod:`jupyter_mlops.core.capture.job_context`), and the one that names the notebook a
#: kernel runs.
JOB_ID_ENV = "JUPYTER_MLOPS_JOB_ID"
JOB_NAME_ENV = "JUPYTER_MLOPS_JOB_NAME"
JOB_PARENT_ENV = "JUPYTER_MLOPS_JOB_PARENT"
NOTEBOOK_ENV = "JUPYTER_MLOPS_NOTEBOOK"
STORE_TIMEOUT_ENV = "JUPYTER_MLOPS_STORE_TIMEOUT"
DEFAULT_STORE_TIMEOUT = 10.0  # seconds a store may take to answer while a run is captured
_MAX_STORE_TIMEOUT = 3600.0
#: Experiment used when neither a name nor a notebook is known. Not MLflow's "Default": that
#: one is created with the database and keeps its artifacts below whatever folder the first
#: process happened to run in, whereas ours keep them beside the database.
DEFAULT_EXPERIMENT = "jupyter-mlops"
#: Every environment variable that changes where runs go or which notebook they belong to.
ENVIRONMENT_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "JPY_SESSION_NAME",
    NOTEBOOK_ENV,
    JOB_ID_ENV,
    JOB_NAME_ENV,
    JOB_PARENT_ENV,
    STORE_TIMEOUT_ENV,
)
_CONFIG_TABLE = "jupyter-mlops"
#: ``models`` holds the per-model validation policies, read and checked by core/gates/policy.py.
_KNOWN_KEYS = frozenset({"tracking_uri", "experiment", "store_timeout", "models"})


def parse_store_timeout(value: object, where: str) -> float:
    """Seconds from a setting (a number, or text holding one).

    Raises:
        MlopsError: (CONFIG) for anything but a number of seconds above 0 and up to 3600.
    """
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= _MAX_STORE_TIMEOUT:
        raise MlopsError(
            f"{where} must be a number of seconds above 0 and up to {_MAX_STORE_TIMEOUT:g}, "
            f"got {value!r}",
            ErrorCode.CONFIG,
        )
    return seconds


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[tool.jupyter-mlops]`` table of the nearest ``pyproject.toml``.

    ``path`` is that file, or None when no ``pyproject.toml`` was found.
    """

    path: Path | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    store_timeout: float | None = None


@dataclass(frozen=True)
class Settings:
    """The resolved destination of runs, with where each value came from.

    The ``*_source`` fields are one of ``argument``, ``environment``, ``pyproject`` or
    ``default`` so that ``%mlops init`` can say why a value was chosen.
    """

    tracking_uri: str
    tracking_uri_source: str
    experiment: str
    experiment_source: str
    project_root: Path
    notebook: Path | None
    #: Seconds a store call may take while a run is captured, and where that came from.
    store_timeout: float = DEFAULT_STORE_TIMEOUT
    store_timeout_source: str = "default"

    @property
    def display_uri(self) -> str:
        """The tracking URI with any password or token masked, safe to print or record."""
        return mask_uri(self.tracking_uri)


def find_project_root(start: Path) -> Path:
    """Return the nearest ancestor of ``start`` (inclusive) holding ``.git`` or ``pyproject.toml``.

    Falls back to ``start`` itself when no ancestor qualifies.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return start


def read_project_config(start: Path) -> ProjectConfig:
    """Read ``[tool.jupyter-mlops]`` from the nearest ``pyproject.toml`` at or above ``start``.

    Raises:
        MlopsError: (CONFIG) when that file is not valid TOML or the table has unknown keys
            or values that are not strings (``store_timeout``: not a number of seconds).
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return _parse_config(candidate)
    return ProjectConfig()


def _parse_config(path: Path) -> ProjectConfig:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MlopsError(f"cannot read {path}: {exc}", ErrorCode.CONFIG) from exc
    table: Any = document.get("tool", {}).get(_CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise MlopsError(f"[tool.{_CONFIG_TABLE}] in {path} must be a table", ErrorCode.CONFIG)
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise MlopsError(
            f"unknown key(s) {', '.join(unknown)} in [tool.{_CONFIG_TABLE}] of {path}; "
            f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
            ErrorCode.CONFIG,
        )
    table.pop("models", None)  # validation policies: checked where they are used
    timeout = table.pop("store_timeout", None)
    if timeout is not None:
        timeout = parse_store_timeout(timeout, f"store_timeout in [tool.{_CONFIG_TABLE}] of {path}")
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise MlopsError(
                f"{key} in [tool.{_CONFIG_TABLE}] of {path} must be a non-empty string",
                ErrorCode.CONFIG,
            )
    uri = table.get("tracking_uri")
    if uri is not None:
        uri = _anchor_sqlite_path(uri, path.parent)
    return ProjectConfig(
        path=path, tracking_uri=uri, experiment=table.get("experiment"), store_timeout=timeout
    )


def _anchor_sqlite_path(uri: str, base: Path) -> str:
    """Make a relative ``sqlite:///file.db`` in pyproject.toml relative to that file's folder.

    Otherwise it would be relative to whatever folder the kernel happens to start in, and
    interactive sessions, papermill and CI would write to different databases.
    """
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        relative = uri[len(prefix) :]
        if relative and relative != ":memory:":
            return prefix + str((base / relative).resolve())
    return uri


def resolve_settings(
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    notebook: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve where runs go, following the documented order.

    Args:
        tracking_uri: explicit URI (highest priority), e.g. from ``%mlops init --tracking-uri``.
        experiment: explicit experiment name.
        notebook: the notebook's path when known; anchors the project root and names the
            default experiment.
        cwd: folder used when no notebook is known (default: the process working directory).
        env: environment to read (default: ``os.environ``).

    Returns:
        The resolved :class:`Settings`.

    Raises:
        MlopsError: (CONFIG) when the nearest ``pyproject.toml`` is unreadable or malformed,
            or ``JUPYTER_MLOPS_STORE_TIMEOUT`` is not a number of seconds.
    """
    environment = os.environ if env is None else env
    base = notebook.resolve().parent if notebook is not None else (cwd or Path.cwd()).resolve()
    root = find_project_root(base)
    project = read_project_config(base)

    uri, uri_source = _first(
        ("argument", tracking_uri),
        ("environment", environment.get("MLFLOW_TRACKING_URI")),
        ("pyproject", project.tracking_uri),
    ) or ("sqlite:///" + str(root / "mlflow.db"), "default")
    name, name_source = _first(
        ("argument", experiment),
        ("environment", environment.get("MLFLOW_EXPERIMENT_NAME")),
        ("pyproject", project.experiment),
    ) or ((notebook.stem if notebook is not None else DEFAULT_EXPERIMENT), "default")
    timeout, timeout_source = DEFAULT_STORE_TIMEOUT, "default"
    if environment.get(STORE_TIMEOUT_ENV, "").strip():
        timeout = parse_store_timeout(environment[STORE_TIMEOUT_ENV], STORE_TIMEOUT_ENV)
        timeout_source = "environment"
    elif project.store_timeout is not None:
        timeout, timeout_source = project.store_timeout, "pyproject"
    return Settings(
        tracking_uri=uri,
        tracking_uri_source=uri_source,
        experiment=name,
        experiment_source=name_source,
        project_root=root,
        notebook=notebook.resolve() if notebook is not None else None,
        store_timeout=timeout,
        store_timeout_source=timeout_source,
    )


def _first(*candidates: tuple[str, str | None]) -> tuple[str, str] | None:
    for source, value in candidates:
        if value is not None and value.strip():
            return value.strip(), source
    return None


def sqlite_database(uri: str) -> Path | None:
    """Return the database file of a ``sqlite:///`` URI (None for other schemes or in-memory)."""
    if not uri.startswith("sqlite://"):
        return None
    path = uri[len("sqlite://") :].split("?", 1)[0]
    if path.startswith("/"):
        path = path[1:]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve()
