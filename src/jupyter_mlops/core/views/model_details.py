"""Registered models as the panel shows them: the inventory rows of one notebook's models, and
one model with its versions, aliases and alias ledger, and a version's lineage (the
``ModelListReply``, ``ModelDetailReply`` and ``LineageReply`` of :mod:`jupyter_mlops.core.types`;
paths relative to the server's ``root``)."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.exceptions import MlflowException

from jupyter_mlops.core.registry.alias_ledger import ledger_entries
from jupyter_mlops.core.registry.inventory import build_inventory, inventory_rows
from jupyter_mlops.core.registry.lineage.graph import (
    LINEAGE_SCHEMA,
    build_lineage,
    utc_iso,
    validation_status,
)
from jupyter_mlops.core.registry.refs import get_model, model_versions, parse_model_ref
from jupyter_mlops.core.registry.register import INVENTORY_FIELDS
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.core.store.queries import notebook_tag_filter
from jupyter_mlops.core.tags import (
    CELL_ID_TAG,
    METRICS_TAG,
    NOTEBOOK_PATH_TAG,
    SCRIPT_PATH_TAG,
    SOURCE_RUN_ID_TAG,
)
from jupyter_mlops.core.types import (
    LedgerEntry,
    LineageEdge,
    LineageNode,
    LineageReply,
    ModelDetailReply,
    ModelListReply,
    ModelRow,
    ModelVersionEntry,
)
from jupyter_mlops.core.views.served_paths import served_notebook, served_path

__all__ = ["model_detail", "model_lineage", "model_list"]

#: Lineage node attributes holding a recorded path (converted to the server's root).
_PATH_ATTRIBUTES = ("notebook_path", "script_path")


def model_list(store: NotebookStore, *, root: Path) -> ModelListReply:
    """Inventory rows; with a notebook, only the models with a version registered from it.

    The rows describe each model's latest version. With a notebook, its model versions are
    found by their notebook tag (one paginated ``search_model_versions``) and only those
    models are read; without one, the whole inventory.

    Raises:
        MlopsError: as :func:`~jupyter_mlops.core.store.causes.mlflow_error` when the
            registry cannot be read.
    """
    reply: ModelListReply = {"notebook": served_notebook(root, store), "models": []}
    if not store.exists:
        return reply
    client = store.client()
    try:
        if store.notebook_tag is None:
            rows = build_inventory(client, store.settings.display_uri).rows
        else:
            rows = inventory_rows(client, _models_from(store, store.notebook_tag))
    except MlflowException as exc:
        raise mlflow_error(exc, "cannot read the registry") from None
    reply["models"] = [_served_row(row.to_dict(), root, store) for row in rows]
    return reply


def _served_row(row: ModelRow, root: Path, store: NotebookStore) -> ModelRow:
    row["source_notebook"] = served_path(root, store, row["source_notebook"])
    return row


def _models_from(store: NotebookStore, notebook: str) -> set[str]:
    names: set[str] = set()
    token: str | None = None
    while True:
        page = store.client().search_model_versions(
            notebook_tag_filter(notebook), max_results=1000, page_token=token
        )
        names.update(version.name for version in page)
        token = page.token
        if not token:
            return names


def model_detail(store: NotebookStore, name: str, *, root: Path) -> ModelDetailReply:
    """One registered model: inventory fields, aliases, versions and ledger, newest first.

    Raises:
        MlopsError: NOT_FOUND for an unknown model (naming close matches); as
            :func:`~jupyter_mlops.core.store.causes.mlflow_error` when the registry fails.
    """
    client = store.client()
    try:
        model = get_model(client, name)
        found = model_versions(client, name)
        moves = ledger_entries(client, name)
    except MlflowException as exc:
        raise mlflow_error(exc, f"cannot read model {name!r}") from None
    tags = dict(model.tags or {})
    aliases = {alias: str(v) for alias, v in sorted(dict(model.aliases or {}).items())}
    by_version: dict[str, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)
    versions: list[ModelVersionEntry] = []
    for version in found:
        vtags = dict(version.tags or {})
        source = vtags.get(NOTEBOOK_PATH_TAG) or vtags.get(SCRIPT_PATH_TAG)
        versions.append(
            {
                "version": str(version.version),
                "run_id": vtags.get(SOURCE_RUN_ID_TAG) or version.run_id,
                "status": str(version.status),
                "created": utc_iso(version.creation_timestamp),
                "aliases": by_version.get(str(version.version), []),
                "source_notebook": served_path(root, store, source),
                "source_cell": vtags.get(CELL_ID_TAG),
                "validation": validation_status(version),
                "metrics": _metrics(vtags.get(METRICS_TAG)),
            }
        )
    ledger: list[LedgerEntry] = [move.to_dict() for move in moves]
    ledger.sort(key=lambda entry: entry["time"] or "", reverse=True)
    return {
        "name": model.name,
        "description": model.description or "",
        "owner": tags.get(INVENTORY_FIELDS["owner"]),
        "purpose": tags.get(INVENTORY_FIELDS["purpose"]),
        "risk_tier": tags.get(INVENTORY_FIELDS["risk_tier"]),
        "aliases": aliases,
        "versions": versions,
        "ledger": ledger,
    }


def model_lineage(store: NotebookStore, model: str, ref: str | None, *, root: Path) -> LineageReply:
    """The lineage graph of ``model`` at ``ref`` (``@ALIAS``, ``VERSION`` or ``/VERSION``;
    the latest version when empty), its nodes' paths relative to the server's ``root``.

    Raises:
        MlopsError: USAGE for a malformed reference; NOT_FOUND for an unknown model, alias or
            version; as :func:`~jupyter_mlops.core.store.causes.mlflow_error` when the
            registry fails.
    """
    text = (ref or "").strip()
    if text and not text.startswith("@"):
        text = "/" + text.lstrip("/")
    try:
        graph = build_lineage(store.client(), parse_model_ref(model + text))
    except MlflowException as exc:
        raise mlflow_error(exc, f"cannot read the lineage of {model!r}") from None
    nodes: list[LineageNode] = []
    for node in graph.nodes:
        attributes = dict(node.attributes)
        for key in _PATH_ATTRIBUTES:
            if isinstance(attributes.get(key), str):
                attributes[key] = served_path(root, store, attributes[key])
        nodes.append({"kind": node.kind, "id": node.id, "attributes": attributes})
    edges: list[LineageEdge] = [
        {"kind": e.kind, "source": e.source, "target": e.target} for e in graph.edges
    ]
    return {"schema": LINEAGE_SCHEMA, "root": graph.root, "nodes": nodes, "edges": edges}


def _metrics(text: str | None) -> dict[str, float]:
    try:
        values = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}
