"""The one resettable place that holds implicit state for notebook users.

A :class:`Session` remembers what ``%mlops init`` (or ``jupyter_mlops.init()``) resolved: the
settings, the connected client, the experiment id and the notebook. Core functions never read
it; they take a :class:`Target` explicitly. Only :mod:`jupyter_mlops.core.capture.target`
(which the fluent facade and the magics call) uses the process-wide session returned by
:func:`current`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from jupyter_mlops.core.capture.notebook import NotebookLocation, discover_notebook
from jupyter_mlops.core.config import Settings, resolve_settings
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import mask_uri, redact_text
from jupyter_mlops.core.store.tracking import (
    connect,
    ensure_experiment,
    sqlite_database,
    ui_command,
)

__all__ = ["Session", "Target", "connect_registry", "current", "describe_target", "reset"]


@dataclass(frozen=True)
class Target:
    """Where runs go: a connected client, the settings (with the experiment's name) and the
    notebook. The experiment is created when a run first needs it (:attr:`experiment_id`),
    so resolving a target that is replaced before any run creates nothing."""

    client: MlflowClient
    settings: Settings
    notebook: NotebookLocation

    @cached_property
    def experiment_id(self) -> str:
        """The experiment's id, creating the experiment when it does not exist yet.

        Raises:
            MlopsError: CONFLICT when it exists but is deleted.
        """
        return ensure_experiment(self.client, self.settings.experiment, self.settings.tracking_uri)

    def existing_experiment_id(self) -> str | None:
        """The experiment's id if it exists already (never creates it).

        Raises:
            MlopsError: CONFLICT when it exists but is deleted.
        """
        if "experiment_id" in self.__dict__:
            return self.experiment_id
        if self.client.get_experiment_by_name(self.settings.experiment) is None:
            return None
        return self.experiment_id

    @property
    def provisional(self) -> bool:
        """True while the notebook is unknown and nothing chose the experiment: a later cell
        that finds the notebook (by searching for its source) resolves another target."""
        return self.notebook.path is None and self.settings.experiment_source == "default"


@dataclass
class Session:
    """Explicit choices made with ``init`` plus the target resolved from them (lazily)."""

    tracking_uri: str | None = None
    experiment: str | None = None
    notebook: str | None = None
    _target: Target | None = None
    _found: NotebookLocation | None = None  # the last notebook discovered (kept across init)
    _failure: MlopsError | None = None  # why the last init failed; nothing is recorded then
    settled: Target | None = None  # the target whose experiment exists and MLflow points at
    announced: set[str] = field(default_factory=set)  # notices printed once in this session

    def configure(
        self,
        *,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        notebook: str | None = None,
    ) -> None:
        """Record explicit choices; the next :meth:`target` call resolves them anew.

        Clears the failure of an earlier ``init``: these choices get their own chance.

        Raises:
            MlopsError: USAGE when ``notebook`` is neither a notebook (``.ipynb``) nor a
                Python script (``.py``); nothing is changed then.
        """
        if notebook is not None and Path(notebook).suffix not in _NOTEBOOK_SUFFIXES:
            raise MlopsError(
                f"--notebook {notebook} is not a notebook (.ipynb) or a Python script (.py); "
                "nothing was changed",
                ErrorCode.USAGE,
            )
        if tracking_uri is not None:
            self.tracking_uri = tracking_uri
        if experiment is not None:
            self.experiment = experiment
        if notebook is not None:
            self.notebook = notebook
        self._target = None
        self._failure = None

    def fail(self, error: BaseException) -> None:
        """Remember that ``init`` could not use the current choices (``error`` says why).

        Until the next :meth:`configure`, :meth:`target` refuses with that reason: runs never
        go to another store (such as a default ``./mlflow.db``) instead of the chosen one.
        """
        self._target = None
        if isinstance(error, MlopsError):
            reason, code = error.message, error.code
        else:
            reason, code = _one_line(error), ErrorCode.TRACKING_UNAVAILABLE
        what = "the last `%mlops init` failed"
        if code in (ErrorCode.CONFIG, ErrorCode.TRACKING_UNAVAILABLE):
            what = "the tracking store chosen with `%mlops init` is unavailable"
            store = self._chosen_store()
            if store is not None and store not in reason:
                reason = f"{store}: {reason}"
        self._failure = MlopsError(
            f"{what}, so nothing is recorded (no other store is used instead): {reason}", code
        )

    def _chosen_store(self) -> str | None:
        """The masked tracking URI the current choices resolve to, when that can be told."""
        if self.tracking_uri is not None:
            return mask_uri(self.tracking_uri)
        try:
            return resolve_settings(experiment=self.experiment).display_uri
        except MlopsError:
            return None

    def target(
        self,
        *,
        env: Mapping[str, str] | None = None,
        namespace: Mapping[str, Any] | None = None,
        cwd: Path | None = None,
        cell_source: str | None = None,
    ) -> Target:
        """Resolve settings, find the notebook and connect (cached); the experiment is created
        when the first run needs it.

        A target resolved without finding the notebook is resolved again when a later call
        brings a ``cell_source`` that locates it (papermill's Python API gives no other clue).

        Raises:
            MlopsError: USAGE for an explicit notebook that does not exist; CONFIG or
                TRACKING_UNAVAILABLE when the store cannot be used; the reason of a failed
                ``init`` (see :meth:`fail`) until the next ``init``.
        """
        if self._failure is not None:  # a fresh error each time: tracebacks do not pile up
            raise MlopsError(self._failure.message, self._failure.code)
        cached = self._target
        if cached is not None and not (cached.notebook.path is None and cell_source):
            return cached
        # Not resolved yet, or resolved without a notebook: a cell's source may now find it.
        try:
            location = discover_notebook(
                explicit=self.notebook,
                env=env,
                namespace=namespace,
                cwd=cwd,
                cell_source=cell_source,
            )
        except FileNotFoundError as exc:
            raise MlopsError(
                f"{exc}; pass the path of a saved notebook with --notebook", ErrorCode.USAGE
            ) from exc
        found = self._found  # a notebook found earlier (e.g. by search) stays found
        if location.path is None and found is not None and found.path and found.path.is_file():
            location = found
        if cached is not None and location.path is None:
            return cached
        if location.path is not None:
            self._found = location
        settings = resolve_settings(
            tracking_uri=self.tracking_uri,
            experiment=self.experiment,
            notebook=location.path,
            cwd=cwd,
            env=env,
        )
        self._target = Target(connect(settings.tracking_uri), settings, location)
        return self._target

    @property
    def resolved(self) -> Target | None:
        """The target if it was resolved already, else None (never connects)."""
        return self._target

    @property
    def found(self) -> NotebookLocation | None:
        """The notebook this session last discovered (kept across ``init``), if any."""
        return self._found


def connect_registry(
    tracking_uri: str | None = None, *, cwd: Path | None = None
) -> tuple[MlflowClient, Settings]:
    """A client on the resolved store for registry work (no experiment or notebook needed).

    Raises:
        MlopsError: NOT_FOUND when a SQLite store does not exist (it is not created); CONFIG
            or TRACKING_UNAVAILABLE when the store cannot be used.
    """
    settings = resolve_settings(tracking_uri=tracking_uri, cwd=cwd)
    database = sqlite_database(settings.tracking_uri)
    if database is not None and not database.is_file():  # reading must not create a store
        raise MlopsError(
            f"no MLflow store at {settings.display_uri} "
            f"({_SOURCE_WORDS[settings.tracking_uri_source]}); run this in the project folder "
            "or pass --tracking-uri",
            ErrorCode.NOT_FOUND,
        )
    return connect(settings.tracking_uri), settings


_NOTEBOOK_SUFFIXES = (".ipynb", ".py")


def _one_line(error: BaseException) -> str:
    text = redact_text(str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


_SOURCE_WORDS = {
    "argument": "explicit",
    "environment": "from the environment",
    "pyproject": "from pyproject.toml",
    "default": "default",
}


def describe_target(target: Target) -> str:
    """Multi-line, human-readable account of where runs go and why (secrets masked)."""
    settings = target.settings
    notebook = target.notebook
    ui = ui_command(settings.tracking_uri, settings.project_root)
    relative_db = ui.startswith("mlflow ui --backend-store-uri sqlite:///") and "////" not in ui
    lines = [
        (
            "tracking URI",
            f"{settings.display_uri}  ({_SOURCE_WORDS[settings.tracking_uri_source]})",
        ),
        ("experiment", f"{settings.experiment}  {_experiment_source(target)}"),
        (
            "notebook",
            f"{notebook.path}  (found by {notebook.found_by})" if notebook.path else _NOT_FOUND,
        ),
        ("project root", str(settings.project_root)),
        ("open the UI", f"{ui}  (in the project root)" if relative_db else ui),
    ]
    width = max(len(label) for label, _ in lines)
    return "\n".join(f"{label.ljust(width)} : {value}" for label, value in lines)


_NOT_FOUND = "not found yet; the first %%mlops run cell looks again (searching this folder)"


def _experiment_source(target: Target) -> str:
    words = f"({_SOURCE_WORDS[target.settings.experiment_source]})"
    if target.provisional:  # say now what the run cell will do: init must not mislead
        return f"{words}, or the notebook's name if a %%mlops run cell finds the notebook"
    return words


_current = Session()


def current() -> Session:
    """Return the process-wide session used by the fluent API and the magics."""
    return _current


def reset() -> Session:
    """Forget every explicit choice and cached connection; return the fresh session."""
    global _current
    _current = Session()
    return _current
