"""Registered models as the panel shows them: the inventory filtered to one notebook, and one
model with its versions, aliases and alias ledger (JSON-ready; the shapes are ``ModelListReply``
and ``ModelDetailReply`` of the server's REST contract)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from mlflow.exceptions import MlflowException

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.alias_ledger import ledger_entries
from jupyter_mlops.core.registry.inventory import build_inventory
from jupyter_mlops.core.registry.lineage.graph import build_lineage, utc_iso, validation_status
from jupyter_mlops.core.registry.refs import get_model, model_versions, parse_model_ref
from jupyter_mlops.core.registry.register import INVENTORY_FIELDS
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.core.store.queries import notebook_tag_filter

__all__ = ["model_detail", "model_lineage", "model_list"]


def model_list(store: NotebookStore) -> dict[str, Any]:
    """Inventory rows; with a notebook, only models with a version registered from it.

    The inventory's rows describe each model's latest version; a model counts as this
    notebook's when any of its versions came from it (one ``search_model_versions`` call).
    """
    reply: dict[str, Any] = {"notebook": store.notebook_tag, "models": []}
    if not store.exists:
        return reply
    client = store.client()
    try:
        rows = build_inventory(client, store.settings.display_uri).rows
        names = None
        if store.notebook_tag is not None:
            names = _models_from(store, store.notebook_tag)
    except MlflowException as exc:
        raise MlopsError(
            f"cannot read the registry: {exc.message}", ErrorCode.TRACKING_UNAVAILABLE
        ) from None
    reply["models"] = [
        asdict(row) | {"missing": list(row.missing)}
        for row in rows
        if names is None or row.name in names
    ]
    return reply


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


def model_detail(store: NotebookStore, name: str) -> dict[str, Any]:
    """One registered model: inventory fields, aliases, versions and ledger, newest first.

    Raises:
        MlopsError: NOT_FOUND for an unknown model (naming close matches).
    """
    client = store.client()
    model = get_model(client, name)
    tags = dict(model.tags or {})
    aliases = {alias: str(v) for alias, v in sorted(dict(model.aliases or {}).items())}
    by_version: dict[str, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)
    versions = []
    for version in model_versions(client, name):
        vtags = dict(version.tags or {})
        versions.append(
            {
                "version": str(version.version),
                "run_id": vtags.get("mlops.source.run_id") or version.run_id,
                "status": str(version.status),
                "created": utc_iso(version.creation_timestamp),
                "aliases": by_version.get(str(version.version), []),
                "source_notebook": vtags.get("mlops.notebook.path")
                or vtags.get("mlops.script.path"),
                "source_cell": vtags.get("mlops.cell.id"),
                "validation": validation_status(version),
                "metrics": _metrics(vtags.get("mlops.metrics")),
            }
        )
    ledger = [entry.to_dict() for entry in ledger_entries(client, name)]
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


def model_lineage(store: NotebookStore, model: str, ref: str | None) -> dict[str, Any]:
    """The lineage graph JSON of ``model`` at ``ref`` (``@ALIAS``, ``VERSION`` or ``/VERSION``;
    the latest version when empty).

    Raises:
        MlopsError: USAGE for a malformed reference; NOT_FOUND for an unknown model, alias or
            version.
    """
    text = (ref or "").strip()
    if text and not text.startswith("@"):
        text = "/" + text.lstrip("/")
    return build_lineage(store.client(), parse_model_ref(model + text)).to_dict()


def _metrics(text: str | None) -> dict[str, float]:
    try:
        values = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}
