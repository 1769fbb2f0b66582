"""Re-executing the notebook that made a model version and checking it makes the same thing.

``jupyter-mlops reproduce MODEL@ALIAS`` reads the version's lineage (its source run, notebook,
commit, parameters and training-data fingerprints), takes the notebook as it was (from git at
the recorded commit when the working tree was clean, else the snapshot stored on the run),
executes it in a clean kernel against a throwaway MLflow store (so nothing is registered or
moved in the real one), and compares:

* every metric the source run chose to record (``mlops.metrics.keys``; all its metrics when
  it chose none), within a relative tolerance;
* the fingerprint of every training dataset with the data the notebook reads now.

The verdict names each reason it failed: metric drift, data changed, notebook missing, or
notebook failed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.core.capture.datasets import data_fingerprints
from jupyter_mlops.core.capture.git_state import file_at_commit
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.contract import job_contract
from jupyter_mlops.core.jobs.execution import NotebookExecution
from jupyter_mlops.core.jobs.model import Outcome
from jupyter_mlops.core.jobs.parameters.values import convert_text, format_value
from jupyter_mlops.core.redaction import MASK
from jupyter_mlops.core.registry.refs import ModelRef, resolve
from jupyter_mlops.core.tags import (
    CELL_ID_TAG,
    GIT_COMMIT_TAG,
    GIT_DIRTY_TAG,
    JOB_PARAMETERS_TAG,
    METRICS_KEYS_TAG,
    METRICS_TAG,
    NOTEBOOK_PATH_TAG,
    NOTEBOOK_SNAPSHOT_ARTIFACT,
    PROJECT_ROOT_TAG,
    SOURCE_RUN_ID_TAG,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["Check", "Reproduction", "reproduce"]


@dataclass(frozen=True)
class Check:
    """One row of the comparison: a metric or a dataset, then and now."""

    kind: str  # metric | data
    name: str
    recorded: str
    now: str
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Reproduction:
    """The verdict of :func:`reproduce`."""

    model: str
    version: str
    source_run_id: str
    notebook: str
    notebook_origin: str  # "git commit <sha>" | "snapshot on run <id>" | "missing"
    parameters: dict[str, Any]
    tolerance: float
    checks: tuple[Check, ...] = ()
    reasons: tuple[str, ...] = ()
    output: Path | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def reproduced(self) -> bool:
        """True when every metric agrees within tolerance and the data is the same."""
        return not self.reasons

    @property
    def exit_code(self) -> int:
        """0 when reproduced, else 1."""
        return 0 if self.reproduced else 1

    def to_text(self) -> str:
        """The side-by-side table and the verdict."""
        lines = [
            f"{self.model} version {self.version}: source run {self.source_run_id}",
            f"  notebook   : {self.notebook} ({self.notebook_origin})",
            "  parameters : "
            + (", ".join(f"{k}={format_value(v)}" for k, v in self.parameters.items()) or "none"),
        ]
        if self.output is not None:
            lines.append(f"  re-executed: {self.output}")
        if self.checks:
            rows = [("", "name", "recorded", "now", "")] + [
                (c.kind, c.name, c.recorded, c.now, ("ok" if c.ok else "DIFFERS") + c.note)
                for c in self.checks
            ]
            widths = [max(len(r[i]) for r in rows) for i in range(4)]
            lines.append("")
            for row in rows:
                cells = [c.ljust(w) for c, w in zip(row[:4], widths, strict=True)]
                lines.append("  " + "  ".join([*cells, row[4]]).rstrip())
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.append("")
        if self.reproduced:
            lines.append(
                f"REPRODUCED: every metric within a relative tolerance of {self.tolerance:g}, "
                "same data"
            )
        else:
            lines.append("NOT REPRODUCED: " + "; ".join(self.reasons))
        return "\n".join(lines)


def reproduce(
    client: MlflowClient,
    ref: ModelRef,
    *,
    tolerance: float = 1e-6,
    output_dir: Path | None = None,
    progress_bar: bool = False,
    on_start: Callable[[str], None] | None = None,
) -> Reproduction:
    """Re-execute the notebook of ``ref`` and compare metrics and data (see module doc).

    ``on_start`` is called with a description of the version once it is found, just before
    the kernel starts.

    Raises:
        MlopsError: NOT_FOUND for an unknown model/alias/version; USAGE for a negative
            tolerance or a version without a recorded source run.
    """
    if not tolerance >= 0:
        raise MlopsError(f"--tolerance must be 0 or more, got {tolerance}", ErrorCode.USAGE)
    _, version = resolve(client, ref)
    tags = dict(version.tags or {})
    run_id = tags.get(SOURCE_RUN_ID_TAG)
    if not run_id:
        raise MlopsError(
            f"{ref.name} version {version.version} has no recorded source run "
            "(not registered with jupyter-mlops): nothing to reproduce",
            ErrorCode.USAGE,
        )
    source = _source_run(client, run_id)
    notebook_rel = tags.get(NOTEBOOK_PATH_TAG) or ""
    root = Path((source.data.tags.get(PROJECT_ROOT_TAG) if source else None) or Path.cwd())
    base = Reproduction(
        model=ref.name,
        version=str(version.version),
        source_run_id=run_id,
        notebook=notebook_rel or "(unknown)",
        notebook_origin="missing",
        parameters={},
        tolerance=tolerance,
    )
    original = root / notebook_rel if notebook_rel else None
    text, origin = _notebook_text(client, original, tags, run_id)
    if text is None:
        return replace(base, reasons=("notebook missing: " + origin,))
    base = replace(base, notebook_origin=origin)
    if on_start is not None:
        on_start(f"{ref.name} version {version.version} ({origin})")
    with tempfile.TemporaryDirectory(prefix="jupyter-mlops-reproduce-") as tmp:
        folder = Path(tmp)
        notebook = folder / (Path(notebook_rel).name or "notebook.ipynb")
        notebook.write_text(text, encoding="utf-8")
        parameters, notes = _parameters(client, source, notebook)
        base = replace(base, parameters=parameters, notes=tuple(notes))
        out_folder = output_dir or root / "build" / "reproduce"
        output = out_folder / f"{ref.name}-v{version.version}.ipynb"
        store = f"sqlite:///{folder / 'mlflow.db'}"
        cwd = original.parent if original is not None and original.parent.is_dir() else folder
        outcome = (
            NotebookExecution(
                notebook,
                output,
                parameters=parameters,
                cwd=cwd,
                env={"MLFLOW_TRACKING_URI": store, "MLFLOW_EXPERIMENT_NAME": "reproduce"},
                progress_bar=progress_bar,
            )
            .start()
            .wait()
        )
        assert outcome is not None
        base = replace(base, output=output)
        if outcome.kind is not Outcome.SUCCEEDED:
            detail = outcome.failure.describe() if outcome.failure else outcome.message
            return replace(base, reasons=(f"notebook failed: {detail or outcome.kind}",))
        rerun = _matching_run(store, source, tags)
    if rerun is None:
        return replace(
            base, reasons=("the re-executed notebook recorded no run for the version's cell",)
        )
    checks = _metric_checks(source, tags, rerun, tolerance) + _data_checks(tags, rerun)
    reasons = []
    drifted = [c.name for c in checks if c.kind == "metric" and not c.ok]
    changed = [c.name for c in checks if c.kind == "data" and not c.ok]
    if drifted:
        reasons.append("metric drift: " + ", ".join(drifted))
    if changed:
        reasons.append("data changed: " + ", ".join(changed))
    return replace(base, checks=tuple(checks), reasons=tuple(reasons))


def _source_run(client: MlflowClient, run_id: str) -> Run | None:
    try:
        return client.get_run(run_id)
    except Exception:  # deleted and garbage-collected: the version's snapshot tags remain
        return None


def _notebook_text(
    client: MlflowClient, path: Path | None, tags: Mapping[str, str], run_id: str
) -> tuple[str | None, str]:
    """The notebook as it was: git at a clean commit first, else the run's snapshot."""
    commit = tags.get(GIT_COMMIT_TAG, "")
    clean = tags.get(GIT_DIRTY_TAG) == "false"
    tried: list[str] = []
    if path is not None and commit and clean:
        text = file_at_commit(path, commit)
        if text is not None:
            return text, f"git commit {commit[:12]}"
        tried.append(f"not in git at {commit[:12]}")
    elif commit:
        tried.append(f"the working tree was dirty at {commit[:12]}")
    else:
        tried.append("no commit recorded")
    try:
        with tempfile.TemporaryDirectory() as tmp, _quiet_downloads():
            local = client.download_artifacts(run_id, NOTEBOOK_SNAPSHOT_ARTIFACT, tmp)
            return Path(local).read_text(encoding="utf-8"), f"snapshot on run {run_id[:12]}"
    except Exception:
        tried.append(f"no {NOTEBOOK_SNAPSHOT_ARTIFACT} on run {run_id[:12]}")
    return None, "; ".join(tried)


@contextmanager
def _quiet_downloads() -> Iterator[None]:
    """No MLflow download progress bar for one small file (it ignores whether stderr is a
    terminal)."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    previous = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _parameters(
    client: MlflowClient, source: Run | None, notebook: Path
) -> tuple[dict[str, Any], list[str]]:
    """The recorded values of the notebook's parameters, typed by its parameters cell.

    The job run's typed ``mlops.job.parameters`` come first; else the source run's params.
    """
    notes: list[str] = []
    specs = job_contract(notebook).parameters
    if source is None or not specs:
        return {}, notes
    recorded: dict[str, Any] = dict(source.data.params)
    parent_id = source.data.tags.get("mlflow.parentRunId")
    if parent_id:
        parent = _source_run(client, parent_id)
        if parent is not None and JOB_PARAMETERS_TAG in parent.data.tags:
            try:
                recorded.update(json.loads(parent.data.tags[JOB_PARAMETERS_TAG]))
            except ValueError:
                notes.append("the job run's parameters tag is not JSON; used the run's params")
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in recorded:
            continue
        value = recorded[spec.name]
        if value == MASK:  # a secret is never recorded: the notebook's own value is used
            notes.append(f"{spec.name} was recorded masked; the notebook default is used")
            continue
        try:
            values[spec.name] = convert_text(spec, value) if isinstance(value, str) else value
        except MlopsError:
            notes.append(
                f"recorded {spec.name}={value!r} is not a {spec.type}; the notebook default is used"
            )
    return values, notes


def _matching_run(store: str, source: Run | None, tags: Mapping[str, str]) -> Run | None:
    """The run of the re-execution made by the same cell (else with the same name)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, order_by=["attributes.start_time DESC"])
    cell_id = tags.get(CELL_ID_TAG)
    for run in runs:
        if cell_id and run.data.tags.get(CELL_ID_TAG) == cell_id:
            return run
    name = source.info.run_name if source is not None else None
    return next((r for r in runs if name and r.info.run_name == name), None)


def _metric_checks(
    source: Run | None, tags: Mapping[str, str], rerun: Run, tolerance: float
) -> list[Check]:
    recorded: dict[str, float] = {}
    if source is not None:
        recorded = dict(source.data.metrics)
        chosen = [k for k in source.data.tags.get(METRICS_KEYS_TAG, "").split(",") if k]
        if chosen:
            recorded = {k: recorded[k] for k in chosen if k in recorded}
    elif tags.get(METRICS_TAG):
        recorded = {k: float(v) for k, v in json.loads(tags[METRICS_TAG]).items()}
    checks = []
    for name, old in recorded.items():
        new = rerun.data.metrics.get(name)
        if new is None:
            checks.append(Check("metric", name, _number(old), "-", False, " (not recorded)"))
            continue
        difference = abs(new - old) / max(abs(old), 1e-12)
        ok = difference <= tolerance or (math.isnan(old) and math.isnan(new))
        note = "" if difference == 0 else f" (rel. diff {difference:.2g})"
        checks.append(Check("metric", name, _number(old), _number(new), ok, note))
    return checks


def _data_checks(tags: Mapping[str, str], rerun: Run) -> list[Check]:
    now = data_fingerprints(rerun.data.tags)
    checks = []
    for name, fingerprint in data_fingerprints(tags).items():
        seen = now.get(name)
        checks.append(
            Check(
                "data",
                name,
                fingerprint[:16],
                (seen or "-")[:16],
                seen == fingerprint,
                "" if seen else " (not read)",
            )
        )
    return checks


def _number(value: float) -> str:
    return f"{value:.6g}"
