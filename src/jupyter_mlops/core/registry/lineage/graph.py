"""The lineage graph of a model version: training data -> run -> version -> sibling versions.

Schema ``jupyter-mlops/lineage/1`` (documented in ``docs/lineage.md``)::

    {"schema": "jupyter-mlops/lineage/1", "root": "model_version:credit-risk/3",
     "nodes": [{"kind": "dataset" | "job" | "run" | "model_version", "id": "...",
                "attributes": {...}}],
     "edges": [{"kind": "input" | "ran" | "produced" | "same_notebook", "source": id,
                "target": id}]}

``input`` goes from a training dataset to the run that used it, ``ran`` from the job
(``jupyter-mlops run``) whose notebook made the version to its run, ``produced`` from the run
to the version, ``same_notebook`` from the version to every other version of the same model
registered from the same notebook (or script).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.datasets import data_fingerprints
from jupyter_mlops.core.capture.job_context import current_job
from jupyter_mlops.core.registry.held_aliases import held_version
from jupyter_mlops.core.registry.lineage.job import job_attributes
from jupyter_mlops.core.registry.lineage.model import LINEAGE_SCHEMA, Edge, Node
from jupyter_mlops.core.registry.lineage.render import render_html, render_text
from jupyter_mlops.core.registry.refs import ModelRef, model_versions, resolve
from jupyter_mlops.core.store.times import iso_time
from jupyter_mlops.core.tags import (
    CELL_EXECUTION_COUNT_TAG,
    CELL_ID_TAG,
    GIT_COMMIT_TAG,
    GIT_DIRTY_TAG,
    METRICS_KEYS_TAG,
    METRICS_TAG,
    NOTEBOOK_PATH_TAG,
    PARAMS_KEYS_TAG,
    PARAMS_TAG,
    SCRIPT_PATH_TAG,
    SOURCE_RUN_ID_TAG,
    VALIDATION_STATUS_TAG,
    data_rows_tag,
)

__all__ = [
    "LINEAGE_SCHEMA",
    "Edge",
    "LineageGraph",
    "Node",
    "build_lineage",
    "utc_iso",
    "validation_status",
]


@dataclass(frozen=True)
class LineageGraph:
    """The lineage of one model version; renders as SVG in JupyterLab, as text elsewhere."""

    root: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        """The node with ``node_id``."""
        return next(n for n in self.nodes if n.id == node_id)

    def of_kind(self, kind: str) -> list[Node]:
        """The nodes of one kind, in graph order."""
        return [n for n in self.nodes if n.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON form."""
        return {
            "schema": LINEAGE_SCHEMA,
            "root": self.root,
            "nodes": [{"kind": n.kind, "id": n.id, "attributes": n.attributes} for n in self.nodes],
            "edges": [{"kind": e.kind, "source": e.source, "target": e.target} for e in self.edges],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def to_text(self) -> str:
        """A terminal rendering."""
        return render_text(self)

    def to_html(self) -> str:
        """An HTML rendering with an inline SVG graph."""
        return render_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.to_text()


def validation_status(version: ModelVersion) -> str:
    """The version's validation status from its validation record, else ``unvalidated``."""
    return str((version.tags or {}).get(VALIDATION_STATUS_TAG) or "unvalidated")


def build_lineage(client: MlflowClient, ref: ModelRef) -> LineageGraph:
    """Build the lineage graph of the version ``ref`` names (latest when it names none).

    Raises:
        MlopsError: NOT_FOUND for an unknown model, alias or version (with close matches).
    """
    context = current_job()
    if ref.alias is not None and context is not None and "'" not in ref.name:
        # inside a job, an alias the notebook moved is held: it names the held version here
        held = held_version(client, ref.name, ref.alias, context.job_id)
        ref = ModelRef(ref.name, version=held) if held else ref
    model, version = resolve(client, ref)
    aliases = _aliases_by_version(dict(model.aliases or {}))
    tags = dict(version.tags or {})
    run = _run(client, tags.get(SOURCE_RUN_ID_TAG) or version.run_id)
    root = _version_node(version, aliases, root=True)
    nodes: list[Node] = []
    edges: list[Edge] = []
    if run is not None and run.info.lifecycle_stage == "deleted":
        run = None  # in the trash: described from the version's snapshot, like a purged run
    run_node = _run_node(run, version) if (run is not None or version.run_id) else None
    for dataset in _datasets(tags, run):
        nodes.append(dataset)
        if run_node is not None:
            edges.append(Edge("input", dataset.id, run_node.id))
    job = job_attributes(client, tags, run)
    if job is not None:
        job_node = Node("job", f"job:{job['run_id']}", job)
        nodes.append(job_node)
        edges.append(Edge("ran", job_node.id, run_node.id if run_node else root.id))
    if run_node is not None:
        nodes.append(run_node)
        edges.append(Edge("produced", run_node.id, root.id))
    nodes.append(root)
    origin = _origin(tags)
    if origin is not None:
        for other in model_versions(client, ref.name):
            if str(other.version) == str(version.version) or _origin(other.tags or {}) != origin:
                continue
            sibling = _version_node(other, aliases)
            nodes.append(sibling)
            edges.append(Edge("same_notebook", root.id, sibling.id))
    return LineageGraph(root.id, tuple(nodes), tuple(edges))


def _aliases_by_version(aliases: dict[str, Any]) -> dict[str, list[str]]:
    by_version: dict[str, list[str]] = {}
    for alias, number in sorted(aliases.items()):
        by_version.setdefault(str(number), []).append(alias)
    return by_version


def _origin(tags: dict[str, str]) -> str | None:
    return tags.get(NOTEBOOK_PATH_TAG) or tags.get(SCRIPT_PATH_TAG)


def _run(client: MlflowClient, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None  # deleted (or in a store we cannot see): the version's snapshot remains


def utc_iso(millis: int | None) -> str | None:
    """An MLflow timestamp (ms) as ISO 8601 UTC, to the second; None when unset."""
    return iso_time(millis, timespec="seconds")


def _version_node(
    version: ModelVersion, aliases: dict[str, list[str]], *, root: bool = False
) -> Node:
    tags = dict(version.tags or {})
    number = str(version.version)
    return Node(
        "model_version",
        f"model_version:{version.name}/{number}",
        {
            "name": version.name,
            "version": number,
            "aliases": aliases.get(number, []),
            "created": utc_iso(version.creation_timestamp),
            "status": str(version.status),
            "run_id": tags.get(SOURCE_RUN_ID_TAG) or version.run_id,
            "notebook_path": tags.get(NOTEBOOK_PATH_TAG),
            "script_path": tags.get(SCRIPT_PATH_TAG),
            "cell_id": tags.get(CELL_ID_TAG),
            "commit": tags.get(GIT_COMMIT_TAG),
            "metrics": _json(tags.get(METRICS_TAG)),
            "key_metrics": _keys(tags.get(METRICS_KEYS_TAG)),
            "validation": validation_status(version),
            "root": root,
        },
    )


def _run_node(run: Run | None, version: ModelVersion) -> Node:
    """The run's node; a deleted run is described from the version's snapshot."""
    tags = dict(version.tags or {})
    if run is None:
        run_id = tags.get(SOURCE_RUN_ID_TAG) or str(version.run_id)
        return Node(
            "run",
            f"run:{run_id}",
            {
                "run_id": run_id,
                "available": False,
                "notebook_path": tags.get(NOTEBOOK_PATH_TAG),
                "script_path": tags.get(SCRIPT_PATH_TAG),
                "cell_id": tags.get(CELL_ID_TAG),
                "execution_count": _int(tags.get(CELL_EXECUTION_COUNT_TAG)),
                "commit": tags.get(GIT_COMMIT_TAG),
                "git_dirty": _bool(tags.get(GIT_DIRTY_TAG)),
                "params": _json(tags.get(PARAMS_TAG)),
                "metrics": _json(tags.get(METRICS_TAG)),
            },
        )
    run_tags = run.data.tags
    info = run.info
    return Node(
        "run",
        f"run:{info.run_id}",
        {
            "run_id": info.run_id,
            "available": True,
            "name": info.run_name,
            "status": info.status,
            "experiment_id": info.experiment_id,
            "start_time": utc_iso(info.start_time),
            "end_time": utc_iso(info.end_time),
            "user": run_tags.get("mlflow.user"),
            "notebook_path": run_tags.get(NOTEBOOK_PATH_TAG),
            "script_path": run_tags.get(SCRIPT_PATH_TAG),
            "cell_id": run_tags.get(CELL_ID_TAG),
            "execution_count": _int(run_tags.get(CELL_EXECUTION_COUNT_TAG)),
            "commit": run_tags.get("mlflow.source.git.commit"),
            "git_dirty": _bool(run_tags.get(GIT_DIRTY_TAG)),
            "params": dict(run.data.params),
            "metrics": dict(run.data.metrics),
            "key_params": _keys(run_tags.get(PARAMS_KEYS_TAG)),
            "key_metrics": _keys(run_tags.get(METRICS_KEYS_TAG)),
        },
    )


def _datasets(tags: dict[str, str], run: Run | None) -> list[Node]:
    """The version's training inputs, with their row counts from the run (or the version)."""
    recorded: dict[tuple[str, str], int | None] = {
        (item.dataset.name, item.dataset.digest): _json(item.dataset.profile).get("num_rows")
        for item in (run.inputs.dataset_inputs if run is not None and run.inputs else [])
    }
    nodes = []
    for name, digest in data_fingerprints(tags).items():
        rows = recorded.get((name, digest))
        if rows is None:
            rows = _int(tags.get(data_rows_tag(name)))
        nodes.append(
            Node(
                "dataset",
                f"dataset:{name}@{digest}",
                {"name": name, "fingerprint": digest, "rows": rows, "context": "training"},
            )
        )
    return sorted(nodes, key=lambda n: n.attributes["name"])


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _bool(text: str | None) -> bool | None:
    return None if text is None else text == "true"


def _keys(text: str | None) -> list[str]:
    return [k for k in (text or "").split(",") if k]
