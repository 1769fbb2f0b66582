"""Registry speed: the lineage of a version and the inventory of 200 models x 10 versions.

A fresh SQLite store in a temporary directory is filled with 200 registered models of 10
versions each that look like what jupyter-mlops writes:

* ``model-000`` versions 1-3 are registered for real, through the public code path: a real
  ``InteractiveShell`` with the extension loaded and ``%mlops init`` on a notebook written
  with nbformat (committed to a fresh git repository when ``git`` is available), a
  ``%%mlops run`` cell that fits a scikit-learn ``LogisticRegression`` on a generated
  DataFrame, then ``%mlops register model --name model-000 --alias champion --owner ...
  --purpose ... --risk-tier 2`` (seconds each: the model is logged with its signature, input
  example and reference profiles).
* Every other version is written quickly with ``MlflowClient`` from the tag sets read back from
  those real ones: a source run per version (the real run's tags, params, metrics and dataset
  inputs, with its own notebook, cell, run id and data fingerprints), then
  ``create_model_version`` with the same version tag keys. Each model gets the real model's
  owner and purpose (a few models lack a purpose), a risk tier, two moves of ``champion``
  through :func:`jupyter_mlops.core.registry.alias_ledger.move_alias` (ledger entries) and a
  ``challenger``
  alias set outside the tool.

Then, on a warm ``MlflowClient``, interleaved rounds time:

1. ``build_lineage(client, parse_model_ref("model-000@champion"))``: the version has 9
   sibling versions registered from the same notebook (target: median at most 1 s);
2. ``build_inventory(client, store)`` of all 200 models (target: median at most 1 s);
3. for comparison, the naive inventory: the same rows built from ``search_model_versions``
   called once per model to find its latest version (the ratio is shown, for information);

then the renderings to JSON and HTML, and the CLI end to end (``jupyter-mlops inventory
--format json`` and ``jupyter-mlops lineage model-000@champion --json`` in a subprocess,
including interpreter start-up and imports), for information. Every result is checked (9
siblings; 200 rows, equal to the naive ones; the CLI's JSON parsed).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, Run
from mlflow.entities.model_registry import ModelVersion, RegisteredModel

from benchmarks._common import Result, Target, interleaved, median, paired_ratios
from benchmarks._notebook_project import close_shell, git_commit, isolated_directory

__all__ = ["NAME", "run"]

NAME = "registry"
MODELS = 200
VERSIONS = 10
REAL_VERSIONS = 3  # of model-000, through %mlops register
TARGET = Target("<=", 1.0)
LINEAGE_REF = "model-000@champion"
EXPERIMENT = "registry"
NOTEBOOK = "credit_risk.ipynb"
OWNER = "Credit Risk Analytics"
PURPOSE = "Probability of default of retail loan applications"

SETUP = """\
import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
n = 2_000
X = pd.DataFrame(
    {
        "income": rng.lognormal(10.8, 0.45, n).round(-2),
        "debt_ratio": rng.beta(2.0, 5.0, n).round(3),
        "age": rng.integers(21, 75, n),
        "late_payments": rng.poisson(0.7, n),
    }
)
y = pd.Series(
    rng.random(n) < 1 / (1 + np.exp(-(4.0 * (X["debt_ratio"] - 0.3) + X["late_payments"] - 1))),
    name="default",
)
"""
TRAIN = """\
%%mlops run --params C --metrics accuracy,log_loss
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.metrics import log_loss as cross_entropy

model = LogisticRegression(C=C, max_iter=1000)
model.fit(X, y)
accuracy = float(accuracy_score(y, model.predict(X)))
log_loss = float(cross_entropy(y, model.predict_proba(X)[:, 1]))
"""
REGISTER = (
    f'%mlops register model --name model-000 --alias champion --owner "{OWNER}" '
    f'--purpose "{PURPOSE}" --risk-tier 2'
)


def run(quick: bool = False) -> list[Result]:
    """Populate the store, then time lineage, inventory and their renderings."""
    rounds, warmup, cli_rounds = (3, 1, 2) if quick else (7, 2, 5)
    with isolated_directory() as root:
        uri = f"sqlite:///{root / 'mlflow.db'}"
        started = time.perf_counter()
        template = _register_for_real(root, uri)
        real_seconds = time.perf_counter() - started
        client = MlflowClient(uri)
        _populate(client, template)
        population = time.perf_counter() - started
        _progress("timing lineage and inventory ...")
        results = _measure(client, uri, rounds, warmup)
        _progress("timing the CLI ...")
        results += _measure_cli(root, uri, cli_rounds)
        versions = sum(1 for _ in _all_versions(client))
    print(flush=True)
    results.append(
        Result(
            NAME,
            f"populate {MODELS} models x {VERSIONS} versions",
            population,
            "s",
            None,
            f"{versions} versions in all; the first {REAL_VERSIONS} through %mlops register "
            f"({real_seconds:.1f} s with the shell set-up), the rest written with MlflowClient "
            "(a source run with tags, params, metrics and dataset inputs, the version, aliases "
            f"and ledger entries); every version has the real one's {len(template.version.tags)}"
            f" tag keys, every run the real one's {len(template.run.data.tags)} tags"
            f"{'' if template.git else '; git unavailable: no git state'}",
        )
    )
    return results


# --- the store and the real registrations -------------------------------------------------


@dataclass(frozen=True)
class Template:
    """What a real ``%mlops register`` wrote, read back from the store."""

    notebook: str  # the notebook path recorded on runs and versions
    run: Run  # the source run of the real version
    version: ModelVersion
    model: RegisteredModel
    experiment_id: str
    git: bool  # whether the notebook was committed to git (git state on runs and versions)


def _register_for_real(root: Path, uri: str) -> Template:
    """Register ``model-000`` versions 1-3 with the magics, as a notebook user does."""
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    _progress(f"registering model-000 versions 1-{REAL_VERSIONS} through %mlops register ...")
    v4: Any = nbformat.v4  # untyped
    cells = [v4.new_code_cell(source) for source in (SETUP, TRAIN, REGISTER)]
    write: Any = nbformat.write
    notebook = root / NOTEBOOK
    write(v4.new_notebook(cells=cells), str(notebook))
    git = git_commit(root, NOTEBOOK)  # as in a real project: versions then carry the git commit
    ids = {cell.source: cell.id for cell in cells}
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)

    def cell(source: str) -> None:
        run_cell: Any = shell.run_cell  # untyped in IPython
        result = run_cell(source, store_history=True, cell_id=ids[source])
        if not result.success:
            error = result.error_in_exec or result.error_before_exec
            raise RuntimeError(f"benchmark cell failed: {error!r}")

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            shell.run_line_magic("load_ext", "jupyter_mlops")
            shell.run_line_magic(
                "mlops",
                f"init --tracking-uri {uri} --experiment {EXPERIMENT} --notebook {notebook}",
            )
            cell(SETUP)
            for number in range(REAL_VERSIONS):
                shell.user_ns["C"] = [1.0, 0.3, 0.1][number % 3]
                cell(TRAIN)
                cell(REGISTER)
    finally:
        close_shell(shell)
    client = MlflowClient(uri)
    version = client.get_model_version("model-000", str(REAL_VERSIONS))
    source_run = client.get_run(str(version.run_id))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    return Template(
        notebook=str(version.tags["mlops.notebook.path"]),
        run=source_run,
        version=version,
        model=client.get_registered_model("model-000"),
        experiment_id=experiment.experiment_id,
        git=git,
    )


# --- the quick population -----------------------------------------------------------------


def _populate(client: MlflowClient, template: Template) -> None:
    from jupyter_mlops.core.registry.alias_ledger import LEDGER_PREFIX, move_alias

    started = time.perf_counter()
    inventory_tags = {
        key: value
        for key, value in (template.model.tags or {}).items()
        if not key.startswith(LEDGER_PREFIX)
    }
    for index in range(MODELS):
        name = f"model-{index:03d}"
        if index == 0:
            first = REAL_VERSIONS + 1
            notebook = template.notebook  # siblings of the real versions: the same notebook
        else:
            first = 1
            notebook = f"notebooks/model_{index:03d}.ipynb"  # relative to the project root
            tags = dict(inventory_tags, **{"mlops.risk_tier": str(1 + index % 3)})
            if index % 40 == 0:
                tags.pop("mlops.purpose", None)  # a few incomplete rows, as in real registries
            client.create_registered_model(name, tags=tags)
        for number in range(first, VERSIONS + 1):
            _add_version(client, template, name, number, notebook)
        if index == 0:
            move_alias(client, name, "challenger", str(VERSIONS), reason="benchmark challenger")
        else:
            for number, reason in ((VERSIONS - 2, "first champion"), (VERSIONS - 1, "promoted")):
                move_alias(client, name, "champion", str(number), reason=reason)
            client.set_registered_model_alias(name, "challenger", str(VERSIONS))
        if (index + 1) % 20 == 0:
            _progress(
                f"populated {index + 1}/{MODELS} models x {VERSIONS} versions "
                f"({time.perf_counter() - started:.0f} s)"
            )


def _add_version(
    client: MlflowClient, template: Template, name: str, number: int, notebook: str
) -> None:
    """A source run cloned from the real one, and a version with the real version's tag keys."""
    real_run = template.run
    real_run_id = real_run.info.run_id
    seed = f"{name}/{number}"
    cell_id = _hex(seed, "cell")[:8]
    swaps = {real_run_id: "", template.notebook: notebook}
    real_cell = real_run.data.tags.get("mlops.cell.id")
    digests = {}
    inputs = []
    for item in real_run.inputs.dataset_inputs if real_run.inputs else []:
        dataset = item.dataset
        digest = _hex(name, "data", dataset.name)[: len(dataset.digest)]  # same per model
        digests[dataset.digest] = digest
        inputs.append(
            DatasetInput(
                Dataset(
                    dataset.name,
                    digest,
                    dataset.source_type,
                    dataset.source,
                    dataset.schema,
                    dataset.profile,
                ),
                [InputTag(t.key, t.value) for t in item.tags],
            )
        )
    swaps.update(digests)
    if real_cell:
        swaps[real_cell] = cell_id
    run_tags = {
        key: _swap(value, swaps)
        for key, value in real_run.data.tags.items()
        if key != "mlflow.runName"
    }
    run_tags["mlops.cell.execution_count"] = str(2 * number + 1)
    created = client.create_run(
        template.experiment_id, tags=run_tags, run_name=f"{name.replace('model', 'run')}-{number}"
    )
    run_id = created.info.run_id
    now = int(time.time() * 1000)
    scale = 1 + (int(_hex(seed, "metric")[:4], 16) % 100) / 1000
    metrics = {key: value * scale for key, value in real_run.data.metrics.items()}
    client.log_batch(
        run_id,
        metrics=[Metric(key, value, now, 0) for key, value in metrics.items()],
        params=[Param(key, value) for key, value in real_run.data.params.items()],
    )
    if inputs:
        client.log_inputs(run_id, inputs)
    client.set_terminated(run_id)
    swaps[real_run_id] = run_id
    version_tags = {
        key: _swap(value, swaps) for key, value in (template.version.tags or {}).items()
    }
    version_tags["mlops.cell.execution_count"] = run_tags["mlops.cell.execution_count"]
    version_tags["mlops.metrics"] = json.dumps(metrics, sort_keys=True)
    version = client.create_model_version(
        name, source=f"{created.info.artifact_uri}/model", run_id=run_id, tags=version_tags
    )
    if str(version.version) != str(number):
        raise RuntimeError(f"{name}: expected version {number}, got {version.version}")


def _swap(value: str, swaps: dict[str, str]) -> str:
    for old, new in swaps.items():
        if old and new:
            value = value.replace(old, new)
    return value


def _hex(*parts: str) -> str:
    return sha256("/".join(parts).encode()).hexdigest()


def _progress(message: str) -> None:
    print(f"\n  {message}", end="", flush=True)


def _all_versions(client: MlflowClient) -> Iterator[ModelVersion]:
    token = None
    while True:
        page = client.search_model_versions(max_results=10_000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


# --- the measurements ---------------------------------------------------------------------


def _measure(client: MlflowClient, uri: str, rounds: int, warmup: int) -> list[Result]:
    from jupyter_mlops.core.registry.inventory import build_inventory
    from jupyter_mlops.core.registry.lineage.graph import build_lineage
    from jupyter_mlops.core.registry.refs import parse_model_ref

    ref = parse_model_ref(LINEAGE_REF)
    graph = build_lineage(client, ref)
    inventory = build_inventory(client, uri)
    checked = _check(graph, inventory, _naive_inventory(client, uri).rows)
    calls = _client_calls(lambda counting: build_lineage(counting, ref), client)
    times = interleaved(
        {
            "lineage": lambda: build_lineage(client, ref),
            "inventory": lambda: build_inventory(client, uri),
            "naive": lambda: _naive_inventory(client, uri),
        },
        rounds=rounds,
        warmup=warmup,
    )
    setup = f"{rounds} interleaved rounds after {warmup} warm-up round(s), warm MlflowClient"
    renders = interleaved(
        {
            "inventory json": inventory.to_json,
            "inventory html": inventory.to_html,
            "lineage json+html": lambda: (graph.to_json(), graph.to_html()),
        },
        rounds=rounds,
        warmup=1,
    )
    ratios = paired_ratios(times["naive"], times["inventory"])
    sizes = {
        "inventory json": len(inventory.to_json()),
        "inventory html": len(inventory.to_html()),
        "lineage json+html": len(graph.to_json()) + len(graph.to_html()),
    }
    return [
        Result(
            NAME,
            f"build_lineage({LINEAGE_REF}), 9 siblings",
            median(times["lineage"]),
            "s",
            TARGET,
            f"{_spread(times['lineage'])}; {setup}; {checked['lineage']}; MLflow calls per "
            f"lineage: {calls}",
        ),
        Result(
            NAME,
            f"build_inventory, {MODELS} models x {VERSIONS} versions",
            median(times["inventory"]),
            "s",
            TARGET,
            f"{_spread(times['inventory'])}; {checked['inventory']}",
        ),
        Result(
            NAME,
            "naive inventory (versions searched per model) / build_inventory",
            median(ratios),
            "x",
            None,
            f"naive: {_spread(times['naive'])}; median of per-round ratios {median(ratios):.2f}x"
            f" (p90 {_p90(ratios):.2f}x); the naive rows equal build_inventory's",
        ),
        *(
            Result(
                NAME,
                f"render {name}",
                median(values) * 1e3,
                "ms",
                None,
                f"{_spread(values)}; {sizes[name] / 1024:.0f} KB",
            )
            for name, values in renders.items()
        ),
    ]


def _naive_inventory(client: MlflowClient, uri: str) -> Any:
    """The inventory as it would be written without the batched latest versions: the model
    list, then ``search_model_versions`` per model for its latest version (same rows)."""
    from jupyter_mlops.core.registry import inventory

    rows = []
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        for model in page:
            versions = client.search_model_versions(f"name='{model.name}'")
            latest = max(versions, key=lambda v: int(v.version)) if versions else None
            model.latest_versions = [latest] if latest is not None else []
            rows.append(inventory._row(model))  # the same row logic: only the reads differ
        token = page.token
        if not token:
            break
    return inventory.Inventory(tuple(sorted(rows, key=lambda r: r.name)), "", uri)


def _check(graph: Any, inventory: Any, naive_rows: Sequence[Any]) -> dict[str, str]:
    """Fail loudly unless the graph and the inventory hold what the store holds."""
    siblings = [e for e in graph.edges if e.kind == "same_notebook"]
    datasets = graph.of_kind("dataset")
    runs = graph.of_kind("run")
    if len(siblings) != VERSIONS - 1 or not datasets or not runs[0].attributes["available"]:
        raise RuntimeError(f"unexpected lineage graph: {graph.to_json()}")
    if len(inventory.rows) != MODELS or tuple(naive_rows) != inventory.rows:
        raise RuntimeError("the inventory does not list every model, or differs from naive")
    if any(row.latest_version != str(VERSIONS) for row in inventory.rows):
        raise RuntimeError("a model's latest version is not the last one created")
    return {
        "lineage": (
            f"graph of {len(graph.nodes)} nodes ({len(datasets)} datasets, 1 run, "
            f"{1 + len(siblings)} versions) and {len(graph.edges)} edges"
        ),
        "inventory": (
            f"{len(inventory.rows)} rows, {len(inventory.incomplete)} missing a required field"
        ),
    }


def _client_calls(call: Callable[[Any], object], client: MlflowClient) -> str:
    """Which ``MlflowClient`` methods ``call`` uses, and how often."""
    counts: dict[str, int] = {}

    class Counting:
        def __getattr__(self, name: str) -> Any:
            attribute = getattr(client, name)
            if not callable(attribute):
                return attribute

            def counted(*args: Any, **kwargs: Any) -> Any:
                counts[name] = counts.get(name, 0) + 1
                return attribute(*args, **kwargs)

            return counted

    call(Counting())
    return ", ".join(f"{name} x{count}" for name, count in sorted(counts.items()))


def _measure_cli(root: Path, uri: str, rounds: int) -> list[Result]:
    """``jupyter-mlops inventory`` and ``lineage`` in a fresh process each (start-up included)."""
    script = Path(sys.executable).with_name("jupyter-mlops")
    command = str(script) if script.exists() else shutil.which("jupyter-mlops")
    if command is None:
        return []
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    outputs: dict[str, str] = {}

    def cli(name: str, *args: str) -> Callable[[], None]:
        def call() -> None:
            done = subprocess.run(
                [command, *args, "--tracking-uri", uri],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"jupyter-mlops {' '.join(args)} failed: {done.stderr}")
            outputs[name] = done.stdout

        return call

    times = interleaved(
        {
            "inventory": cli("inventory", "inventory", "--format", "json"),
            "lineage": cli("lineage", "lineage", LINEAGE_REF, "--json"),
        },
        rounds=rounds,
        warmup=1,
    )
    models = len(json.loads(outputs["inventory"])["models"])
    edges = len(json.loads(outputs["lineage"])["edges"])
    if models != MODELS:
        raise RuntimeError(f"jupyter-mlops inventory listed {models} models")
    return [
        Result(
            NAME,
            "CLI: jupyter-mlops inventory --format json",
            median(times["inventory"]),
            "s",
            None,
            f"{_spread(times['inventory'])}; {rounds} rounds after 1 warm-up, a new process "
            f"each (start-up and imports included); {models} models printed",
        ),
        Result(
            NAME,
            f"CLI: jupyter-mlops lineage {LINEAGE_REF} --json",
            median(times["lineage"]),
            "s",
            None,
            f"{_spread(times['lineage'])}; {edges} edges printed",
        ),
    ]


def _p90(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def _spread(times: Sequence[float]) -> str:
    """Median and p90 in milliseconds, then every time."""
    shown = ", ".join(f"{t * 1e3:.0f}" for t in sorted(times))
    return f"median {median(times) * 1e3:.1f} ms, p90 {_p90(times) * 1e3:.1f} ms ({shown} ms)"
