"""One run being recorded: what a cell produced, buffered, then written in a few calls.

:meth:`RunCapture.finish` writes params, metrics and tags in batched calls, the dataset inputs
and the run's files, and always ends the run: FINISHED, FAILED (exception) or KILLED
(interrupt). A run is never left RUNNING: when the store fails or does not answer within the
store timeout, what could not be written is kept in a local pending record that the next
session resolves (:mod:`jupyter_mlops.core.store.pending_records`). Runs are started by
:func:`jupyter_mlops.core.capture.record.start_capture`.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import DatasetInput, Metric, Param, Run, RunTag
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.datasets import dataset_input, referenced_names
from jupyter_mlops.core.capture.fingerprint import DataSummary, is_tabular, summarize
from jupyter_mlops.core.capture.git_state import GitState
from jupyter_mlops.core.capture.produced import produced_names, produced_objects, produced_tag_value
from jupyter_mlops.core.capture.provenance import CellCode, git_tags
from jupyter_mlops.core.capture.run_files import closing_files, code_files, write_run_files
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.redaction import mask_uris, mask_value, redact_text
from jupyter_mlops.core.store.active_run import activate, deactivate, terminate
from jupyter_mlops.core.store.deadline import StoreDeadline, StoreUnavailable
from jupyter_mlops.core.store.pending_records import record_unfinished
from jupyter_mlops.core.tags import (
    CELL_OBJECTS_TAG,
    CELL_PRODUCED_TAG,
    ERROR_MESSAGE_TAG,
    ERROR_TYPE_TAG,
    data_fingerprint_tag,
    keys_tag,
)

__all__ = ["RunCapture", "RunResult", "Warn"]

_MAX_PARAM = 6000  # mlflow.utils.validation.MAX_PARAM_VAL_LENGTH
_MAX_TAG = 8000  # mlflow.utils.validation.MAX_TAG_VAL_LENGTH
_BATCH = 100  # params/tags per log_batch call (MLflow's limit)

Warn = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    """How a captured run ended."""

    run_id: str
    experiment_id: str
    status: str  # FINISHED | FAILED | KILLED
    datasets: tuple[tuple[str, DataSummary], ...] = ()
    warnings: tuple[str, ...] = ()
    #: False when the store did not let the run be ended (a pending record keeps it).
    ended: bool = True


@dataclass
class RunCapture:
    """A run being recorded: :meth:`activate` it, let the code run, :meth:`collect` what it
    produced (or ``log_*`` it), then :meth:`finish`.
    :func:`~jupyter_mlops.core.capture.record.recording`
    does all of that around a ``with`` block."""

    target: Target
    run: Run  # as create_run returned it: its id and artifact location, never re-read
    code: CellCode
    git: Future[GitState | None]  # commit tags, read while the cell runs
    warn: Warn
    _params: dict[str, str] = field(default_factory=dict)
    _metrics: dict[str, float] = field(default_factory=dict)
    _datasets: dict[str, tuple[DataSummary, str]] = field(default_factory=dict)
    _warnings: list[str] = field(default_factory=list)
    result: RunResult | None = None
    _code_stored: bool = False
    _objects: dict[str, int] = field(default_factory=dict)  # produced name -> id(value)

    @property
    def run_id(self) -> str:
        """The MLflow run id."""
        return str(self.run.info.run_id)

    # -- making it the active run ----------------------------------------------------------
    def activate(self) -> None:
        """Store the code that is about to run, and make this run MLflow's active run
        (nested under one the user left open)."""
        try:
            self._deadline().call(self._write_files, code_files(self.code.source))
            self._code_stored = True
        except StoreUnavailable as exc:  # tried again when the run ends; never fails the cell
            self.warning(f"could not store the cell's code yet: {exc}")
        activate(self.run, self.target.settings.tracking_uri)

    def _deadline(self) -> StoreDeadline:
        settings = self.target.settings
        return StoreDeadline(settings.display_uri, settings.store_timeout, settings.tracking_uri)

    def _end(self, status: str, deadline: StoreDeadline) -> list[str]:
        """End runs the cell left open above ours, then ours, each once, with ``status``;
        return the ids of those the store did not let us end (within ``deadline``).

        If the cell already ended our run itself, the status is still set to ours.
        """
        popped = deactivate(self.run_id)
        if popped is None:  # MLflow moved its stack: end through the public API
            while (active := mlflow.active_run()) is not None:
                mlflow.end_run(status=status)
                if active.info.run_id == self.run_id:
                    return []
            popped = []
        unended = []
        for run_id in popped or [self.run_id]:
            try:
                deadline.call(terminate, self.target.client, run_id, status)
            except StoreUnavailable:
                unended.append(run_id)
        return unended

    # -- collecting what the code produced ---------------------------------------------------
    def log_params(self, values: Mapping[str, Any]) -> None:
        """Buffer params (later values win); secret-looking names or values are masked."""
        for key, value in values.items():
            text = param_text(value)
            self._params[key] = mask_value(key, text)

    def log_metrics(self, values: Mapping[str, Any], *, strict: bool = True) -> None:
        """Buffer numeric metrics; a non-numeric value is skipped with one warning line."""
        for key, value in values.items():
            number = _as_number(value)
            if number is None:
                if strict:
                    self.warning(
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

        ``injected`` parameters (papermill) are recorded with the value the code used (see
        :meth:`_used_parameters`), then ``params`` by name. Names missing from ``namespace``
        produce one warning line each when ``strict`` (the code finished); after a failure they
        are skipped silently.
        """
        self.log_params(self._used_parameters(namespace, injected or {}))
        self.log_params(self._defined(namespace, params, "param", strict))
        self.log_metrics(self._defined(namespace, metrics, "metric", strict), strict=strict)
        self._objects = produced_objects(
            self.code.python or "", namespace, nested=self.code.script is not None
        )
        for name, context in referenced_names(self.code.python or "").items():
            value = namespace.get(name)
            if is_tabular(value):
                self.log_data(name, value, context)

    def _used_parameters(
        self, namespace: Mapping[str, Any], injected: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The injected parameters with the values the notebook used: each one's value in
        ``namespace`` after the cell. That is the injected value unless a cell rebinds the
        name: an earlier cell's value is the one this cell saw, and a value this cell
        assigned is the one it left (what it trained with, for an assignment before use).
        A rebound value is recorded with a warning; a name no longer defined is not
        recorded."""
        used: dict[str, Any] = {}
        for name, value in injected.items():
            if name not in namespace:
                self.warning(
                    f"parameter {name!r} was passed to the notebook but is no longer defined "
                    "after the cell (a cell deleted it); not recorded"
                )
                continue
            used[name] = namespace[name]
            passed, now = param_text(value), param_text(used[name])
            expression = isinstance(value, str) and not isinstance(used[name], str)
            if passed != now and not expression:  # (papermill passes `float("nan")` as code)
                self.warning(
                    f"parameter {name!r} was passed as {passed!r} but the notebook rebinds it: "
                    f"recorded {now!r}, its value after this cell"
                )
        return used

    def _defined(
        self, namespace: Mapping[str, Any], names: Sequence[str], kind: str, strict: bool
    ) -> dict[str, Any]:
        for missing in (n for n in names if n not in namespace):
            if strict:
                self.warning(f"{kind} {missing!r} is not defined after the cell ran; not recorded")
        return {n: namespace[n] for n in names if n in namespace}

    def warning(self, message: str) -> None:
        """Report one warning line now and keep it in the result."""
        message = mask_uris(message)  # MLflow's errors name the server, password included
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
        deadline = self._deadline()  # one budget for writing and ending
        try:
            tags = self._closing_tags(error)
        except Exception as exc:  # e.g. the git probe failed: record the rest
            self.warning(f"could not read the run's closing tags: {exc}")
            tags = {}
        written = False
        try:
            deadline.call(self._flush, error, tags)
            written = True
        except StoreUnavailable:  # the store failed mid-way: still try to end the run below
            pass
        try:
            unended = self._end(status, deadline)
        except Exception as exc:
            self.warning(f"could not mark run {self.run_id} as {status}: {exc}")
            unended = []
        if unended and deadline.failure is not None:  # left RUNNING: keep what is pending
            for run_id in unended:
                ours = run_id == self.run_id and not written
                self.warning(
                    record_unfinished(
                        deadline.failure,
                        run_id=run_id,
                        experiment_id=self.target.experiment_id,
                        tracking_uri=self.target.settings.tracking_uri,
                        status=status,
                        params=self._params if ours else None,
                        metrics=self._metrics if ours else None,
                        tags=tags if ours else None,
                        kept=self._kept_names(),
                    )
                )
        elif not written and deadline.failure is not None:
            self.warning(f"run {self.run_id} was only partly recorded: {deadline.failure}")
        return RunResult(
            run_id=self.run_id,
            experiment_id=self.target.experiment_id,
            status=status,
            datasets=tuple((name, summary) for name, (summary, _) in self._datasets.items()),
            warnings=tuple(self._warnings),
            ended=self.run_id not in unended,
        )

    def _kept_names(self) -> list[str]:
        """The names the code bound (what stays in the kernel when the store fails)."""
        names = produced_names(self.code.python or "", nested=self.code.script is not None)
        shown = [name for name in names if not name.startswith("_")]
        return [*shown[:6], "..."] if len(shown) > 6 else shown

    def _closing_tags(self, error: BaseException | None) -> dict[str, str]:
        tags = git_tags(self.git.result())
        # The params and metrics the user chose (not autolog's): what tables show first.
        for kind, chosen in (("params", self._params), ("metrics", self._metrics)):
            if chosen:
                tags[keys_tag(kind)] = ",".join(chosen)
        for name, (summary, _) in self._datasets.items():
            tags[data_fingerprint_tag(name)] = summary.fingerprint
        produced = produced_tag_value(self.code.python or "", nested=self.code.script is not None)
        if produced is not None:  # lets `register VAR` find the run that made VAR
            tags[CELL_PRODUCED_TAG] = produced
        if self._objects:  # ... and check it is still the same object in this process
            tags[CELL_OBJECTS_TAG] = json.dumps(self._objects)[:_MAX_TAG]
        if error is not None:
            tags[ERROR_TYPE_TAG] = type(error).__qualname__
            tags[ERROR_MESSAGE_TAG] = redact_text(str(error))[:_MAX_TAG]
        return tags

    def _flush(self, error: BaseException | None, tags: dict[str, str]) -> None:
        client = self.target.client
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
        files = closing_files(self.target.notebook.path, error)
        if not self._code_stored:
            files.update(code_files(self.code.source))
        self._write_files(files)

    def _write_files(self, files: dict[str, str]) -> None:
        write_run_files(self.run.info.artifact_uri, self.target.settings.tracking_uri, files)

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
                    self.warning(
                        f"param {param.key!r} was already logged as {existing[param.key]!r}; "
                        f"kept that value, not {param.value!r}"
                    )
            fresh = [p for p in params if p.key not in existing]
            client.log_batch(self.run_id, metrics=metrics, params=fresh, tags=tags)

    def _dataset_inputs(self) -> list[DatasetInput]:
        return [
            dataset_input(name, summary, context)
            for name, (summary, context) in self._datasets.items()
        ]


def param_text(value: Any) -> str:
    """A value as MLflow param text: text as is, numbers and bools as ``str``, dates in ISO
    form, anything else as its ``repr``; cut to MLflow's limit."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
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
