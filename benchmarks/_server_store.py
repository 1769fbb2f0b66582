"""The store of the ``server_speed`` benchmark: 10,000 runs across 20 notebooks, built once.

A project folder (``pyproject.toml``, ``notebooks/nb00.ipynb`` ... ``nb19.ipynb`` committed to
git, the default SQLite store ``mlflow.db``) is filled in two steps:

1. **For real**, in an ``InteractiveShell`` with the extension loaded: for each notebook,
   ``%mlops init --notebook notebooks/nbXX.ipynb`` (default tracking URI and experiment: the
   notebook's stem, exactly what the server resolves for that notebook) and one
   ``%%mlops run --no-autolog --params ... --metrics ...`` cell that fits a scikit-learn
   ``LogisticRegression`` on a generated train/test split (so each run carries the real tags,
   params, metrics, four dataset inputs with our fingerprints, and its artifacts). In
   ``nb00`` the training cell then runs 10 more times, each followed by
   ``%mlops register model --name credit-risk --alias champion ...``: 10 real versions with
   their lineage tags, an alias moved 10 times (ledger entries).
2. **In bulk**: each notebook's real run is the template of the rest of its 500. Every row
   MLflow wrote for the template, in every table that mentions the run (found by scanning the
   store, not by a list of ours), is copied with a new run id, name, execution count, times,
   C and metric values, in one transaction per notebook through SQLAlchemy Core; its artifact
   folder is hard-linked. The same clone written through ``MlflowClient`` (the four write calls
   ``%%mlops run`` makes) is compared row by row on a scratch copy of the store, and the
   client's speed is reported: one call at a time, 10,000 runs take tens of minutes on SQLite.

The folder lives in the system temporary directory under a name keyed by a hash of this file,
the versions of MLflow, SQLAlchemy and jupyter-mlops and the sources of the jupyter-mlops
modules that write runs; a later benchmark run reuses it (and says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import registry_speed

__all__ = ["MODEL", "NOTEBOOKS", "RUNS_PER_NOTEBOOK", "VERSIONS", "Store", "notebook", "store"]

NOTEBOOKS = 20
RUNS_PER_NOTEBOOK = 500
VERSIONS = 10
MODEL = "credit-risk"
_PREFIX = "jupyter-mlops-bench-server-"
_WRITERS = (  # the jupyter-mlops modules whose code decides what a run and a version hold
    "capture.py",
    "run_capture.py",
    "provenance.py",
    "datasets.py",
    "registration.py",
    "ledger.py",
    "run_files.py",
    "model_logging.py",
    "config.py",
)
_CLIENT_SAMPLE = 10  # runs written one client call at a time, to time that path
_COUNT = "mlops.cell.execution_count"

# the registry benchmark's generated loan book, split for training
SETUP = (
    registry_speed.SETUP
    + """\
X_train, X_test, y_train, y_test = X[:1500], X[1500:], y[:1500], y[1500:]
C = 1.0
max_iter = 1000
"""
)
TRAIN = """\
%%mlops run --no-autolog --params C,max_iter --metrics accuracy,log_loss,auc
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.metrics import log_loss as cross_entropy

model = LogisticRegression(C=C, max_iter=max_iter).fit(X_train, y_train)
proba = model.predict_proba(X_test)[:, 1]
accuracy = float(accuracy_score(y_test, proba > 0.5))
log_loss = float(cross_entropy(y_test, proba))
auc = float(roc_auc_score(y_test, proba))
"""
REGISTER = (
    f'%mlops register model --name {MODEL} --alias champion --owner "Credit Risk Analytics" '
    '--purpose "Probability of default of retail loan applications" --risk-tier 2'
)
_C_VALUES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def notebook(index: int) -> str:
    """The path of notebook ``index`` relative to the project root (as runs record it)."""
    return f"notebooks/nb{index:02d}.ipynb"


@dataclass(frozen=True)
class Store:
    """The built project: folder, tracking URI and how it was built."""

    root: Path
    uri: str
    manifest: dict[str, Any]
    reused: bool

    def describe(self) -> str:
        m = self.manifest
        how = (
            f"reused from {self.root} (built {m['built']} in {m['seconds']:.0f} s)"
            if self.reused
            else f"built in {self.root}"
        )
        return (
            f"{how}: {m['real_runs']} runs and {VERSIONS} versions written for real through "
            f"%%mlops run / %mlops register ({m['real_seconds']:.0f} s), {m['cloned_runs']} "
            f"cloned in bulk ({m['clone_seconds']:.0f} s: {m['clone_rows']} rows through "
            f"SQLAlchemy Core, artifacts hard-linked); each clone equals a run written through "
            f"MlflowClient row for row ({m['client_check']}); the client path took "
            f"{m['client_ms_per_run']:.0f} ms per run, "
            f"{m['client_ms_per_run'] * NOTEBOOKS * RUNS_PER_NOTEBOOK / 60_000:.0f} min for "
            f"{NOTEBOOKS * RUNS_PER_NOTEBOOK:,} runs"
        )


def store(progress: Callable[[str], None]) -> Store:
    """The benchmark's store, built now or reused from the temporary directory."""
    key = _content_key()
    root = Path(tempfile.gettempdir()).resolve() / f"{_PREFIX}{key}"
    manifest_path = root / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        progress(f"store reused from {root} (built {manifest['built']}, key {key})")
        return Store(root, manifest["uri"], manifest, reused=True)
    for stale in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):  # older builds of this store
        shutil.rmtree(stale, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    real_seconds = _write_for_real(root, progress)
    real_runs = _count_runs(uri)
    progress(f"{real_runs} real runs in {real_seconds:.0f} s; checking the bulk clone ...")
    client_check, client_ms = _check_clone_against_client(root, uri)
    cloned_at = time.perf_counter()
    cloned, rows = _clone_all(root, uri, progress)
    clone_seconds = time.perf_counter() - cloned_at
    _check_counts(uri)
    manifest = {
        "uri": uri,
        "key": key,
        "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.perf_counter() - started,
        "real_seconds": real_seconds,
        "real_runs": real_runs,
        "cloned_runs": cloned,
        "clone_rows": rows,
        "clone_seconds": clone_seconds,
        "client_check": client_check,
        "client_ms_per_run": client_ms,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return Store(root, uri, manifest, reused=False)


def _content_key() -> str:
    import jupyter_mlops
    import jupyter_mlops.core

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in ("mlflow", "sqlalchemy", "scikit-learn"):
        digest.update(f"{name}={metadata.version(name)};".encode())
    digest.update(jupyter_mlops.__version__.encode())
    core = Path(jupyter_mlops.core.__file__).parent
    for name in _WRITERS:
        digest.update((core / name).read_bytes())
    return digest.hexdigest()[:12]


# --- step 1: the real runs and versions ---------------------------------------------------


@contextlib.contextmanager
def _isolated(root: Path) -> Iterator[None]:
    """Tracking variables unset, IPython's folder temporary, MLflow quiet, cwd the project."""
    from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES

    names = (*ENVIRONMENT_VARIABLES, "IPYTHONDIR")
    saved = {name: os.environ.pop(name, None) for name in names}
    cwd = Path.cwd()
    logger = logging.getLogger("mlflow")
    level = logger.level
    with tempfile.TemporaryDirectory(prefix="jupyter-mlops-bench-ipython-") as ipython:
        os.environ["IPYTHONDIR"] = ipython
        logger.setLevel(logging.WARNING)
        os.chdir(root)
        try:
            yield
        finally:
            os.chdir(cwd)
            logger.setLevel(level)
            for name, value in saved.items():
                os.environ.pop(name, None)
                if value is not None:
                    os.environ[name] = value


def _write_for_real(root: Path, progress: Callable[[str], None]) -> float:
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from benchmarks._notebook_project import close_shell, git_commit

    started = time.perf_counter()
    (root / "pyproject.toml").write_text('[project]\nname = "credit-risk-research"\n')
    (root / ".gitignore").write_text("mlflow.db\nmlruns/\nmanifest.json\n")
    v4: Any = nbformat.v4  # untyped
    write: Any = nbformat.write
    ids: list[dict[str, str]] = []
    for index in range(NOTEBOOKS):
        sources = (SETUP, TRAIN, REGISTER) if index == 0 else (SETUP, TRAIN)
        cells = [v4.new_code_cell(source) for source in sources]
        # a kernelspec, or JupyterLab asks which kernel to start (a dialog over the page)
        kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        book = v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})
        path = root / notebook(index)
        path.parent.mkdir(exist_ok=True)
        write(book, str(path))
        ids.append({cell.source: cell.id for cell in cells})
    git_commit(root, ".")
    config = Config()
    config.HistoryManager.enabled = False
    with _isolated(root):
        shell = InteractiveShell.instance(config=config)
        try:

            def cell(index: int, source: str) -> None:
                run_cell: Any = shell.run_cell  # untyped in IPython
                result = run_cell(source, store_history=True, cell_id=ids[index][source])
                if not result.success:
                    error = result.error_in_exec or result.error_before_exec
                    raise RuntimeError(f"benchmark cell failed: {error!r}")

            quiet = io.StringIO()  # the magics' messages (e.g. the hidden-state notes)
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                shell.run_line_magic("load_ext", "jupyter_mlops")
                for index in range(NOTEBOOKS):
                    shell.run_line_magic("mlops", f"init --notebook {root / notebook(index)}")
                    cell(index, SETUP)
                    shell.user_ns["C"] = _C_VALUES[index % len(_C_VALUES)]
                    cell(index, TRAIN)  # the template of the notebook's clones
                shell.run_line_magic("mlops", f"init --notebook {root / notebook(0)}")
                for number in range(VERSIONS):
                    shell.user_ns["C"] = _C_VALUES[number % len(_C_VALUES)]
                    cell(0, TRAIN)
                    cell(0, REGISTER)
                    progress(f"registered {MODEL} version {number + 1}/{VERSIONS}")
        finally:
            close_shell(shell)
    return time.perf_counter() - started


def _count_runs(uri: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


# --- step 2: the clones -------------------------------------------------------------------


@dataclass
class _Template:
    """Every row MLflow holds for one run, by table, and the run's place in the store."""

    run_id: str
    experiment_id: str
    rows: dict[str, list[dict[str, Any]]]
    input_ids: tuple[str, ...]
    artifacts: Path
    start: int
    duration: int
    execution_count: int
    stem: str


def _templates(engine: Any) -> list[_Template]:
    """The oldest run of each notebook's experiment (the first real one) and its rows."""
    from sqlalchemy import MetaData, text

    metadata_ = MetaData()
    metadata_.reflect(engine)
    templates = []
    with engine.connect() as connection:
        for index in range(NOTEBOOKS):
            stem = Path(notebook(index)).stem
            run_id, experiment_id = connection.execute(
                text(
                    "SELECT r.run_uuid, r.experiment_id FROM runs r JOIN experiments e "
                    "ON r.experiment_id = e.experiment_id WHERE e.name = :name "
                    "ORDER BY r.start_time LIMIT 1"
                ),
                {"name": stem},
            ).one()
            template = _template(connection, metadata_, run_id, str(experiment_id), stem)
            if not template.artifacts.is_dir():
                raise RuntimeError(f"run {run_id} has no artifact folder {template.artifacts}")
            templates.append(template)
    return templates


def _template(
    connection: Any, metadata_: Any, run_id: str, experiment_id: str, stem: str
) -> _Template:
    from sqlalchemy import String, Text, or_, select

    rows: dict[str, list[dict[str, Any]]] = {}
    for table in metadata_.sorted_tables:
        textual = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not textual:
            continue
        found = connection.execute(select(table).where(or_(*(c == run_id for c in textual))))
        rows[table.name] = [dict(row._mapping) for row in found]
    rows = {name: found for name, found in rows.items() if found}
    input_ids = tuple(str(row["input_uuid"]) for row in rows.get("inputs", []))
    if input_ids:  # the inputs' own tags are keyed by the input, not the run
        table = metadata_.tables["input_tags"]
        found = connection.execute(select(table).where(table.c.input_uuid.in_(input_ids)))
        rows["input_tags"] = [dict(row._mapping) for row in found]
    unexpected = set(rows) - {
        "runs",
        "tags",
        "params",
        "metrics",
        "latest_metrics",
        "inputs",
        "input_tags",
    }
    if unexpected:  # e.g. a logged model: cloning it would need more than id swaps
        raise RuntimeError(f"template run {run_id} has rows in {sorted(unexpected)}")
    run = rows["runs"][0]
    tags = {row["key"]: row["value"] for row in rows["tags"]}
    artifacts = Path(str(run["artifact_uri"]).removeprefix("file://"))
    return _Template(
        run_id=run_id,
        experiment_id=experiment_id,
        rows=rows,
        input_ids=input_ids,
        artifacts=artifacts,
        start=int(run["start_time"]),
        duration=int(run["end_time"]) - int(run["start_time"]),
        execution_count=int(tags.get(_COUNT, "0")),
        stem=stem,
    )


@dataclass(frozen=True)
class _Variation:
    """What differs between a clone and its template."""

    run_id: str
    number: int  # 1, 2, ... going back in time
    seed: int

    def count(self, template: _Template) -> int:
        return template.execution_count + 2 * self.number

    def name(self, template: _Template) -> str:
        return f"{template.stem}-cell{self.count(template)}"  # %%mlops run's default name


def _clone_rows(template: _Template, change: _Variation) -> dict[str, list[dict[str, Any]]]:
    """The template's rows for a new run: ids swapped, name, times, C and metrics varied."""
    rng = random.Random(change.seed)
    start = template.start - change.number * 60_000  # one run a minute, back in time
    end = start + template.duration
    inputs = {old: uuid.uuid4().hex for old in template.input_ids}
    c_value = str(rng.choice(_C_VALUES))
    scale = 1 + rng.uniform(-0.05, 0.05)

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            if value in inputs:
                return inputs[value]
            return value.replace(template.run_id, change.run_id)
        return value

    cloned: dict[str, list[dict[str, Any]]] = {}
    for table, rows in template.rows.items():
        out = []
        for row in rows:
            new = {key: swap(value) for key, value in row.items()}
            if table == "runs":
                new.update(name=change.name(template), start_time=start, end_time=end)
            elif table == "tags" and new["key"] == "mlflow.runName":
                new["value"] = change.name(template)
            elif table == "tags" and new["key"] == _COUNT:
                new["value"] = str(change.count(template))
            elif table == "params" and new["key"] == "C":
                new["value"] = c_value
            elif table in ("metrics", "latest_metrics"):
                value = float(new["value"]) * scale
                new.update(value=min(value, 1.0) if new["key"] != "log_loss" else value)
                new["timestamp"] = end
            out.append(new)
        cloned[table] = out
    return cloned


def _insert(connection: Any, metadata_: Any, rows: dict[str, list[dict[str, Any]]]) -> int:
    """Insert rows table by table, parents first (one executemany per table)."""
    written = 0
    for table in metadata_.sorted_tables:
        if rows.get(table.name):
            connection.execute(table.insert(), rows[table.name])
            written += len(rows[table.name])
    return written


def _clone_all(root: Path, uri: str, progress: Callable[[str], None]) -> tuple[int, int]:
    from sqlalchemy import MetaData, create_engine, text

    engine = create_engine(uri)
    metadata_ = MetaData()
    metadata_.reflect(engine)
    cloned = rows = 0
    try:
        templates = _templates(engine)
        for index, template in enumerate(templates):
            with engine.connect() as connection:
                existing = connection.execute(
                    text("SELECT count(*) FROM runs WHERE experiment_id = :e"),
                    {"e": template.experiment_id},
                ).scalar_one()
            batch: dict[str, list[dict[str, Any]]] = {}
            for number in range(1, RUNS_PER_NOTEBOOK - int(existing) + 1):
                change = _Variation(uuid.uuid4().hex, number, seed=index * 100_000 + number)
                for table, new in _clone_rows(template, change).items():
                    batch.setdefault(table, []).extend(new)
                _link_artifacts(template, change.run_id)
                cloned += 1
            with engine.begin() as connection:  # one transaction per notebook
                rows += _insert(connection, metadata_, batch)
            progress(f"cloned {cloned:,} runs ({template.stem})")
    finally:
        engine.dispose()
    return cloned, rows


def _link_artifacts(template: _Template, run_id: str) -> None:
    target = template.artifacts.parent.parent / run_id / "artifacts"
    shutil.copytree(template.artifacts, target, copy_function=os.link)


def _check_clone_against_client(root: Path, uri: str) -> tuple[str, float]:
    """On a scratch copy of the store: write clones of one template through ``MlflowClient``
    (the calls ``%%mlops run`` makes: create_run with its tags, log_batch, log_inputs,
    set_terminated) and the same clones in bulk; every row must match. Returns a description
    and the client's milliseconds per run."""
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
    from sqlalchemy import MetaData, create_engine

    scratch = root / "scratch.db"
    shutil.copyfile(root / "mlflow.db", scratch)
    scratch_uri = f"sqlite:///{scratch}"
    engine = create_engine(scratch_uri)
    metadata_ = MetaData()
    metadata_.reflect(engine)
    try:
        template = _templates(engine)[1]
        client = MlflowClient(scratch_uri)
        run_inputs = client.get_run(template.run_id).inputs
        inputs = run_inputs.dataset_inputs if run_inputs else []
        times = []
        for number in range(1, _CLIENT_SAMPLE + 1):
            values = _clone_rows(template, _Variation("0" * 32, number, seed=number))
            started = time.perf_counter()
            created = client.create_run(
                template.experiment_id,
                start_time=values["runs"][0]["start_time"],
                tags={r["key"]: r["value"] for r in values["tags"]},
                run_name=values["runs"][0]["name"],
            )
            run_id = created.info.run_id
            client.log_batch(
                run_id,
                metrics=[
                    Metric(r["key"], r["value"], r["timestamp"], r["step"])
                    for r in values["metrics"]
                ],
                params=[Param(r["key"], r["value"]) for r in values["params"]],
            )
            client.log_inputs(
                run_id,
                datasets=[
                    DatasetInput(
                        Dataset(
                            item.dataset.name,
                            item.dataset.digest,
                            item.dataset.source_type,
                            item.dataset.source,
                            item.dataset.schema,
                            item.dataset.profile,
                        ),
                        [InputTag(tag.key, tag.value) for tag in item.tags],
                    )
                    for item in inputs
                ],
            )
            client.set_terminated(run_id, "FINISHED", end_time=values["runs"][0]["end_time"])
            if number > 1:  # the first one pays for the client's warm-up
                times.append(time.perf_counter() - started)
            bulk = _Variation(uuid.uuid4().hex, number, seed=number)  # the same values
            with engine.begin() as connection:
                _insert(connection, metadata_, _clone_rows(template, bulk))
            with engine.connect() as connection:
                pair = [
                    _template(connection, metadata_, run, template.experiment_id, template.stem)
                    for run in (run_id, bulk.run_id)
                ]
            for table in sorted(set(pair[0].rows) | set(pair[1].rows)):
                a, b = (_normal(t.rows.get(table, []), t) for t in pair)
                if a != b:
                    raise RuntimeError(
                        f"a bulk clone differs from the client-written run in {table}: {a} {b}"
                    )
        client_ms = 1000 * sum(times) / len(times)
    finally:
        engine.dispose()
        scratch.unlink(missing_ok=True)
    return f"{_CLIENT_SAMPLE} pairs, tables {', '.join(sorted(template.rows))}", client_ms


def _normal(rows: list[dict[str, Any]], run: _Template) -> list[tuple[tuple[str, str], ...]]:
    """Rows with the run's id and its inputs' ids replaced by placeholders, sorted."""
    order = {old: f"<input {index}>" for index, old in enumerate(run.input_ids)}

    def plain(value: Any) -> str:
        text = str(value)
        return order.get(text, text.replace(run.run_id, "<run>"))

    return sorted(tuple(sorted((k, plain(v)) for k, v in row.items())) for row in rows)


def _check_counts(uri: str) -> None:
    """Every notebook has exactly 500 runs tagged with its path, in its own experiment."""
    from sqlalchemy import create_engine, text

    engine = create_engine(uri)
    try:
        with engine.connect() as connection:
            counts: dict[str, int] = dict(
                connection.execute(
                    text(
                        "SELECT t.value, count(*) FROM tags t JOIN runs r "
                        "ON t.run_uuid = r.run_uuid JOIN experiments e "
                        "ON r.experiment_id = e.experiment_id WHERE t.key = "
                        "'mlops.notebook.path' AND e.name = replace(replace(t.value, "
                        "'notebooks/', ''), '.ipynb', '') GROUP BY t.value"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    wanted = {notebook(index): RUNS_PER_NOTEBOOK for index in range(NOTEBOOKS)}
    if counts != wanted:
        raise RuntimeError(f"unexpected runs per notebook: {counts}")
