"""Recording one execution of notebook code as one MLflow run.

:func:`start_capture` creates the run (with lineage tags) and makes it MLflow's active run, so
plain ``mlflow.log_*`` calls and autologging inside the cell land on it. The caller then runs
the code, hands over what it produced (:meth:`RunCapture.collect`), and calls
:meth:`RunCapture.finish`, which writes everything in a few batched calls and always ends the
run: FINISHED, FAILED (exception) or KILLED (interrupt). A run is never left RUNNING.
"""

from __future__ import annotations

import getpass
import numbers
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import DatasetInput, Metric, Param, Run, RunTag
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from jupyter_mlops.core import environment
from jupyter_mlops.core.active_run import activate
from jupyter_mlops.core.autolog import sklearn_autolog
from jupyter_mlops.core.datasets import dataset_input, referenced_names
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.fingerprint import DataSummary, is_tabular, summarize
from jupyter_mlops.core.notebook import notebook_snapshot
from jupyter_mlops.core.provenance import lineage_tags
from jupyter_mlops.core.redaction import MASK, is_secret_name, looks_like_secret, redact_text
from jupyter_mlops.core.session import Target

__all__ = ["CellCode", "RunCapture", "RunResult", "recording", "start_capture", "validate_tags"]

_MAX_PARAM = 6000  # mlflow.utils.validation.MAX_PARAM_VAL_LENGTH
_MAX_TAG = 8000  # mlflow.utils.validation.MAX_TAG_VAL_LENGTH
_BATCH = 100  # params/tags per log_batch call (MLflow's limit)
_RESERVED_TAG_PREFIXES = (
    "mlops.",
    "mlflow.source.",
    "mlflow.parentRunId",
    "mlflow.runName",
    "mlflow.user",
)

Warn = Callable[[str], None]


@dataclass(frozen=True)
class CellCode:
    """The code that a run records.

    ``source`` is exactly what the user wrote (for ``code/cell.py``); ``python`` is the same
    code as plain Python (IPython syntax such as ``!cmd`` transformed), used to find the data
    it refers to; ``cell_id`` and ``execution_count`` locate it in the notebook.
    """

    source: str
    python: str | None = None
    cell_id: str | None = None
    execution_count: int | None = None


@dataclass(frozen=True)
class RunResult:
    """How a captured run ended."""

    run_id: str
    experiment_id: str
    status: str  # FINISHED | FAILED | KILLED
    datasets: tuple[tuple[str, DataSummary], ...] = ()
    warnings: tuple[str, ...] = ()


def validate_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Check user tags; return them with secret-looking values masked.

    Raises:
        MlopsError: (USAGE) for an empty key or one in a namespace jupyter-mlops owns.
    """
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not key or key != key.strip():
            raise MlopsError(
                f"tag key {key!r} must be non-empty without surrounding spaces", ErrorCode.USAGE
            )
        if key.startswith(_RESERVED_TAG_PREFIXES):
            raise MlopsError(
                f"tag key {key!r} is reserved for lineage; choose another key", ErrorCode.USAGE
            )
        checked[key] = MASK if is_secret_name(key) or looks_like_secret(value) else value
    return checked


def start_capture(
    target: Target,
    code: CellCode,
    *,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    warn: Warn | None = None,
) -> RunCapture:
    """Create the run in ``target`` and make it MLflow's active run.

    Raises:
        MlopsError: USAGE for reserved tag keys; TRACKING_UNAVAILABLE when the run cannot be
            created. Nothing is written in either case.
    """
    user_tags = validate_tags(tags or {})
    lineage = lineage_tags(target, code)
    all_tags = {**user_tags, **lineage}
    all_tags["mlflow.user"] = _user()
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run_name = name or _default_name(target, code)
    try:
        run = target.client.create_run(target.experiment_id, tags=all_tags, run_name=run_name)
    except Exception as exc:
        raise MlopsError(
            f"cannot create a run in {target.settings.display_uri}: {_first_line(exc)}",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from exc
    return RunCapture(target, run, code, lineage, warn or (lambda _message: None))


@contextmanager
def recording(
    target: Target,
    code: CellCode,
    *,
    namespace: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    params: Sequence[str] = (),
    metrics: Sequence[str] = (),
    injected: Mapping[str, Any] | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    autolog: bool = True,
    parent_run_id: str | None = None,
    warn: Warn | None = None,
) -> Iterator[RunCapture]:
    """Record the ``with`` body as one run; the shared path of ``%%mlops run`` and ``run()``.

    The run is active while the body executes (with scikit-learn autologging unless
    ``autolog`` is False). Afterwards ``params``, ``metrics`` and referenced data are taken
    from ``namespace`` and the run is ended. An exception from the body is recorded and then
    re-raised unchanged. ``capture.result`` holds the :class:`RunResult` afterwards.
    ``namespace`` may be a callable, read once when the body has finished. Without an
    explicit ``parent_run_id`` a run the user left active becomes the parent.

    Raises:
        MlopsError: when the run cannot be created (then the body is not executed).
    """
    if parent_run_id is None and (active := mlflow.active_run()) is not None:
        parent_run_id = active.info.run_id
    capture = start_capture(
        target, code, name=name, tags=tags, parent_run_id=parent_run_id, warn=warn
    )
    error: BaseException | None = None
    try:
        capture.activate()
        with sklearn_autolog(autolog):
            yield capture
    except BaseException as exc:
        error = exc
        raise
    finally:
        try:
            variables = namespace() if callable(namespace) else namespace or {}
            capture.collect(
                variables, params=params, metrics=metrics, injected=injected, strict=error is None
            )
        except Exception as exc:  # a value we could not read must not cost the run
            capture._warning(f"could not read the cell's variables: {exc}")
        capture.result = capture.finish(error)


@dataclass
class RunCapture:
    """A run being recorded. Use as ``with capture.active(): ...`` then :meth:`finish`."""

    target: Target
    run: Run  # as create_run returned it: its id and artifact location, never re-read
    code: CellCode
    lineage: dict[str, str]
    warn: Warn
    _params: dict[str, str] = field(default_factory=dict)
    _metrics: dict[str, float] = field(default_factory=dict)
    _tags: dict[str, str] = field(default_factory=dict)
    _datasets: dict[str, tuple[DataSummary, str]] = field(default_factory=dict)
    _warnings: list[str] = field(default_factory=list)
    result: RunResult | None = None

    @property
    def run_id(self) -> str:
        """The MLflow run id."""
        return str(self.run.info.run_id)

    # -- making it the active run ----------------------------------------------------------
    def activate(self) -> None:
        """Make this run MLflow's active run (nested under one the user left open)."""
        activate(self.run, self.target.settings.tracking_uri)

    def _end(self, status: str) -> None:
        """End runs the cell left open above ours, then ours, each once, with ``status``.

        If the cell already ended our run itself, the status is still set to ours.
        """
        for _ in range(32):
            active = mlflow.active_run()
            if active is None:
                break
            mlflow.end_run(status=status)
            if active.info.run_id == self.run_id:
                return
        self.target.client.set_terminated(self.run_id, status=status)

    # -- collecting what the code produced ---------------------------------------------------
    def log_params(self, values: Mapping[str, Any]) -> None:
        """Buffer params (later values win); secret-looking names or values are masked."""
        for key, value in values.items():
            text = _param_text(value)
            self._params[key] = MASK if is_secret_name(key) or looks_like_secret(text) else text

    def log_metrics(self, values: Mapping[str, Any], *, strict: bool = True) -> None:
        """Buffer numeric metrics; a non-numeric value is skipped with one warning line."""
        for key, value in values.items():
            number = _as_number(value)
            if number is None:
                if strict:
                    self._warning(
                        f"metric {key!r} is {type(value).__name__}, not a number; not recorded"
                    )
                continue
            self._metrics[key] = number

    def log_data(self, name: str, data: Any, context: str = "input") -> DataSummary:
        """Record a DataFrame/Series as a dataset input with our fingerprint.

        Raises:
            TypeError: when ``data`` is not a pandas DataFrame or Series.
        """
        summary = summarize(data)
        self._datasets[name] = (summary, context)
        return summary

    def collect(
        self,
        namespace: Mapping[str, Any],
        *,
        params: Sequence[str] = (),
        metrics: Sequence[str] = (),
        injected: Mapping[str, Any] | None = None,
        strict: bool = True,
    ) -> None:
        """Take params, metrics and data from ``namespace`` after the code ran.

        ``injected`` parameters (papermill) are recorded first, then ``params`` by name, so a
        value the cell changed wins. Names missing from ``namespace`` produce one warning line
        each when ``strict`` (the code finished); after a failure they are skipped silently.
        """
        self.log_params(dict(injected or {}))
        for kind, names in (("param", params), ("metric", metrics)):
            present = {n: namespace[n] for n in names if n in namespace}
            for missing in (n for n in names if n not in namespace):
                if strict:
                    self._warning(
                        f"{kind} {missing!r} is not defined after the cell ran; not recorded"
                    )
            if kind == "param":
                self.log_params(present)
            else:
                self.log_metrics(present, strict=strict)
        for name, context in referenced_names(self.code.python or "").items():
            value = namespace.get(name)
            if is_tabular(value):
                self.log_data(name, value, context)

    def _warning(self, message: str) -> None:
        self._warnings.append(message)
        self.warn(message)

    # -- ending ------------------------------------------------------------------------------
    def finish(self, error: BaseException | None = None) -> RunResult:
        """Write what was collected and end the run; never leaves it RUNNING.

        The status is FINISHED without ``error``, KILLED for ``KeyboardInterrupt``, else FAILED
        (with the exception's type, message and traceback recorded, secrets masked).
        """
        status = (
            "FINISHED"
            if error is None
            else "KILLED"
            if isinstance(error, KeyboardInterrupt)
            else "FAILED"
        )
        try:
            self._flush(error)
        except Exception as exc:  # the store failed mid-way: say so, still end the run below
            self._warning(f"run {self.run_id} was only partly recorded: {exc}")
        finally:
            try:
                self._end(status)
            except Exception as exc:
                self._warning(f"could not mark run {self.run_id} as {status}: {exc}")
        return RunResult(
            run_id=self.run_id,
            experiment_id=self.target.experiment_id,
            status=status,
            datasets=tuple((name, summary) for name, (summary, _) in self._datasets.items()),
            warnings=tuple(self._warnings),
        )

    def _flush(self, error: BaseException | None) -> None:
        client = self.target.client
        tags = dict(self._tags)
        for name, (summary, _) in self._datasets.items():
            tags[f"mlops.data.{name}.fingerprint"] = summary.fingerprint
        if error is not None:
            tags["mlops.error.type"] = type(error).__qualname__
            tags["mlops.error.message"] = redact_text(str(error))[:_MAX_TAG]
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in self._metrics.items()]
        params = [Param(k, v) for k, v in self._params.items()]
        tag_items = [RunTag(k, v[:_MAX_TAG]) for k, v in tags.items()]
        for start in range(0, max(len(params), len(tag_items), len(metrics), 1), _BATCH):
            self._log_batch(
                client,
                metrics[start : start + _BATCH],
                params[start : start + _BATCH],
                tag_items[start : start + _BATCH],
            )
        if self._datasets:
            client.log_inputs(self.run_id, datasets=self._dataset_inputs())
        self._log_files(error)

    def _log_batch(
        self, client: MlflowClient, metrics: list[Metric], params: list[Param], tags: list[RunTag]
    ) -> None:
        """One ``log_batch``. MLflow params are immutable: when the cell (or autolog) already
        logged one of ours with another value, keep theirs, warn, and write the rest."""
        if not (metrics or params or tags):
            return
        try:
            client.log_batch(self.run_id, metrics=metrics, params=params, tags=tags)
        except MlflowException as exc:
            if not params or exc.error_code != "INVALID_PARAMETER_VALUE":
                raise
            existing = client.get_run(self.run_id).data.params
            for param in params:
                if param.key in existing and existing[param.key] != param.value:
                    self._warning(
                        f"param {param.key!r} was already logged as {existing[param.key]!r}; "
                        f"kept that value, not {param.value!r}"
                    )
            fresh = [p for p in params if p.key not in existing]
            client.log_batch(self.run_id, metrics=metrics, params=fresh, tags=tags)

    def _dataset_inputs(self) -> list[DatasetInput]:
        source = {"mlops.run_id": self.run_id}
        if "mlops.notebook.path" in self.lineage:
            source["mlops.notebook.path"] = self.lineage["mlops.notebook.path"]
        return [
            dataset_input(name, summary, context, source)
            for name, (summary, context) in self._datasets.items()
        ]

    def _log_files(self, error: BaseException | None) -> None:
        with tempfile.TemporaryDirectory(prefix="jupyter-mlops-") as tmp:
            root = Path(tmp)
            _write(root / "code" / "cell.py", redact_text(self.code.source))
            notebook = self.target.notebook.path
            snapshot = notebook_snapshot(notebook) if notebook is not None else None
            if snapshot is not None:
                _write(root / "code" / "notebook.ipynb", snapshot)
            _write(root / "environment" / "requirements.txt", environment.requirements_text())
            if error is not None:
                lines = traceback.format_exception(type(error), error, error.__traceback__)
                _write(root / "error" / "traceback.txt", redact_text("".join(lines)))
            repository = get_artifact_repository(
                self.run.info.artifact_uri, tracking_uri=self.target.settings.tracking_uri
            )
            repository.log_artifacts(str(root))  # type: ignore[no-untyped-call]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def _default_name(target: Target, code: CellCode) -> str:
    stem = target.notebook.path.stem if target.notebook.path is not None else "cell"
    return f"{stem}-cell{code.execution_count}" if code.execution_count is not None else stem


def _param_text(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else repr(value)
        if not isinstance(value, (int, float, bool))
        else str(value)
    )
    return text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 3] + "..."


def _as_number(value: Any) -> float | None:
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        inner = item()
        if isinstance(inner, numbers.Real):
            return float(inner)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
