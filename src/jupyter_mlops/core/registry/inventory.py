"""The model inventory (PRA SS1/23): every registered model with its owner, purpose, risk tier,
training data, source, performance and validation status, and what is missing.

Built from one paginated ``search_registered_models`` (it carries each model's tags, aliases
and latest version with its tags), so 200 models take a fraction of a second on SQLite.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.datasets import data_fingerprints
from jupyter_mlops.core.registry.lineage.graph import utc_iso, validation_status
from jupyter_mlops.core.store.queries import quoted
from jupyter_mlops.core.tags import (
    CELL_ID_TAG,
    JOB_OUTCOME_TAG,
    JOB_RUN_TAG,
    METRICS_KEYS_TAG,
    METRICS_TAG,
    NOTEBOOK_PATH_TAG,
    OWNER_TAG,
    PURPOSE_TAG,
    RISK_TIER_TAG,
    SCRIPT_PATH_TAG,
    SOURCE_RUN_ID_TAG,
)
from jupyter_mlops.core.types import ModelRow

__all__ = [
    "INVENTORY_SCHEMA",
    "REQUIRED_FIELDS",
    "Inventory",
    "InventoryRow",
    "build_inventory",
    "inventory_rows",
]

INVENTORY_SCHEMA = "jupyter-mlops/inventory/1"
#: What every model must have; ``--strict`` fails when any is missing.
REQUIRED_FIELDS = ("owner", "purpose", "risk_tier", "lineage")
_PAGE = 1000  # MLflow's maximum page size for registered models
_KEY_METRICS = 4


@dataclass(frozen=True)
class InventoryRow:
    """One registered model as the inventory reports it; its JSON form is the REST contract's
    :class:`~jupyter_mlops.core.types.ModelRow` (:meth:`to_dict`), the one written shape."""

    name: str
    latest_version: str | None
    aliases: dict[str, str]
    owner: str | None
    purpose: str | None
    risk_tier: str | None
    training_data: dict[str, str]  # dataset name -> fingerprint (latest version)
    source_notebook: str | None
    source_cell: str | None
    source_run_id: str | None
    registered: str | None  # when the latest version was registered (UTC, ISO 8601)
    key_metrics: dict[str, float]
    validation: str
    missing: tuple[str, ...]
    #: Versions registered by a ``jupyter-mlops run`` job that did not succeed (flagged).
    failed_jobs: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when no required field is missing."""
        return not self.missing

    def to_dict(self) -> ModelRow:
        """The row as JSON-ready data (``GET models``, ``inventory --format json``)."""
        return {
            "name": self.name,
            "latest_version": self.latest_version,
            "aliases": dict(self.aliases),
            "owner": self.owner,
            "purpose": self.purpose,
            "risk_tier": self.risk_tier,
            "training_data": dict(self.training_data),
            "source_notebook": self.source_notebook,
            "source_cell": self.source_cell,
            "source_run_id": self.source_run_id,
            "registered": self.registered,
            "key_metrics": dict(self.key_metrics),
            "validation": self.validation,
            "missing": list(self.missing),
            "failed_jobs": list(self.failed_jobs),
        }


@dataclass(frozen=True)
class Inventory:
    """All rows plus when and where the inventory was taken; renders in four formats."""

    rows: tuple[InventoryRow, ...]
    generated: str
    store: str  # the tracking URI, secrets masked

    @property
    def incomplete(self) -> list[InventoryRow]:
        """Rows missing a required field."""
        return [row for row in self.rows if row.missing]

    def to_json(self) -> str:
        """``jupyter-mlops/inventory/1`` JSON."""
        return json.dumps(
            {
                "schema": INVENTORY_SCHEMA,
                "generated": self.generated,
                "store": self.store,
                "required_fields": list(REQUIRED_FIELDS),
                "models": [row.to_dict() for row in self.rows],
            },
            indent=2,
        )

    def to_csv(self) -> str:
        """One line per model; mappings as ``key=value`` joined by ``;``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for row in self.rows:
            writer.writerow(_flat(row))
        return buffer.getvalue()

    def to_table(self) -> str:
        """A terminal table of the main columns."""
        columns = ("name", "latest", "aliases", "owner", "tier", "validation", "missing")
        table = [columns] + [
            (
                row.name,
                row.latest_version or "-",
                _pairs(row.aliases) or "-",
                _clip(row.owner or "-", 20),
                row.risk_tier or "-",
                row.validation,
                ",".join(row.missing) or "-",
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in table
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        summary = (
            f"{len(self.rows)} registered model(s) in {self.store}; "
            f"{len(self.incomplete)} missing required fields ({', '.join(REQUIRED_FIELDS)})"
        )
        flagged = [
            f"flagged: {row.name} {failure}" for row in self.rows for failure in row.failed_jobs
        ]
        return "\n".join([summary, "", *lines, *flagged]) if self.rows else summary

    def to_html(self) -> str:
        """A self-contained page (inline CSS, no scripts or external files) for reviewers."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _HTML_COLUMNS)
        body = "".join(_html_row(row) for row in self.rows) or (
            f'<tr><td colspan="{len(_HTML_COLUMNS)}">No registered models.</td></tr>'
        )
        return _PAGE_TEMPLATE.format(
            generated=html.escape(self.generated),
            store=html.escape(self.store),
            count=len(self.rows),
            incomplete=len(self.incomplete),
            required=html.escape(", ".join(REQUIRED_FIELDS)),
            head=head,
            body=body,
        )

    def _repr_html_(self) -> str:
        """A fragment for notebooks (the page's global styles would restyle JupyterLab)."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _HTML_COLUMNS)
        body = "".join(_html_row(row) for row in self.rows)
        summary = html.escape(self.to_table().splitlines()[0])
        return (
            f'<div class="jupyter-mlops-inventory"><p>{summary}</p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return self.to_table()

    def render(self, fmt: str) -> str:
        """The inventory in ``fmt``: table, csv, json or html."""
        return {
            "table": self.to_table,
            "csv": self.to_csv,
            "json": self.to_json,
            "html": self.to_html,
        }[fmt]()


def build_inventory(client: MlflowClient, store: str) -> Inventory:
    """Read every registered model (prompts excluded) into inventory rows, sorted by name."""
    rows: list[InventoryRow] = []
    token: str | None = None
    failed = _failed_jobs(client)
    while True:
        page = client.search_registered_models(max_results=_PAGE, page_token=token)
        rows.extend(_row(model, failed) for model in page if not _is_prompt(model))
        token = page.token
        if not token:
            break
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Inventory(tuple(sorted(rows, key=lambda r: r.name)), generated, store)


def inventory_rows(client: MlflowClient, names: Iterable[str]) -> tuple[InventoryRow, ...]:
    """The inventory rows of the models ``names`` only (one search per name; unknown names and
    prompts are left out), sorted by name: what :func:`build_inventory` reports for them."""
    failed = _failed_jobs(client)
    rows = [
        _row(model, failed)
        for name in sorted(set(names))
        for model in client.search_registered_models(filter_string=f"name = {quoted(name)}")
        if model.name == name and not _is_prompt(model)
    ]
    return tuple(rows)


def _is_prompt(model: RegisteredModel) -> bool:
    return (model.tags or {}).get("mlflow.prompt.is_prompt") == "true"


def _latest(model: RegisteredModel) -> ModelVersion | None:
    versions = list(model.latest_versions or [])
    return max(versions, key=lambda v: int(v.version)) if versions else None


def _failed_jobs(client: MlflowClient) -> dict[str, list[str]]:
    """Per model, its versions whose job (``mlops.job.outcome``) did not succeed."""
    found: dict[str, list[str]] = {}
    try:
        versions = client.search_model_versions(
            f"tags.`{JOB_OUTCOME_TAG}` != 'succeeded'", max_results=_PAGE
        )
    except MlflowException:  # a registry that cannot filter on tags: nothing to flag
        return found
    for version in sorted(versions, key=lambda v: int(v.version)):
        tags = version.tags or {}
        outcome = tags.get(JOB_OUTCOME_TAG, "").replace("_", " ")
        job = (tags.get(JOB_RUN_TAG) or "?")[:12]
        found.setdefault(version.name, []).append(
            f"version {version.version} was registered by a job that did not succeed "
            f"({outcome}, job run {job})"
        )
    return found


def _row(model: RegisteredModel, failed: dict[str, list[str]]) -> InventoryRow:
    tags = dict(model.tags or {})
    latest = _latest(model)
    vtags = dict(latest.tags or {}) if latest is not None else {}
    data = data_fingerprints(vtags)
    source = vtags.get(NOTEBOOK_PATH_TAG) or vtags.get(SCRIPT_PATH_TAG)
    fields = {
        "owner": tags.get(OWNER_TAG),
        "purpose": tags.get(PURPOSE_TAG),
        "risk_tier": tags.get(RISK_TIER_TAG),
    }
    missing = [name for name, value in fields.items() if not value]
    if not (vtags.get(SOURCE_RUN_ID_TAG) and source and data):
        missing.append("lineage")
    return InventoryRow(
        name=model.name,
        latest_version=str(latest.version) if latest is not None else None,
        aliases={alias: str(v) for alias, v in sorted(dict(model.aliases or {}).items())},
        owner=fields["owner"],
        purpose=fields["purpose"],
        risk_tier=fields["risk_tier"],
        training_data=data,
        source_notebook=source,
        source_cell=vtags.get(CELL_ID_TAG),
        source_run_id=vtags.get(SOURCE_RUN_ID_TAG) or (latest.run_id if latest else None),
        registered=utc_iso(latest.creation_timestamp) if latest is not None else None,
        key_metrics=_key_metrics(vtags),
        validation=validation_status(latest) if latest is not None else "unvalidated",
        missing=tuple(missing),
        failed_jobs=tuple(failed.get(model.name, ())),
    )


def _key_metrics(tags: dict[str, str]) -> dict[str, float]:
    try:
        metrics = json.loads(tags.get(METRICS_TAG) or "{}")
    except ValueError:
        return {}
    if not isinstance(metrics, dict):
        return {}
    keys = [k for k in (tags.get(METRICS_KEYS_TAG) or "").split(",") if k in metrics]
    chosen = keys or sorted(metrics)[:_KEY_METRICS]
    return {k: metrics[k] for k in chosen}


def _pairs(values: dict[str, Any], sep: str = ",") -> str:
    return sep.join(f"{k}={_number(v)}" for k, v in values.items())


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CSV_COLUMNS = (
    "name",
    "latest_version",
    "aliases",
    "owner",
    "purpose",
    "risk_tier",
    "training_data",
    "source_notebook",
    "source_cell",
    "source_run_id",
    "registered",
    "key_metrics",
    "validation",
    "missing",
)


def _flat(row: InventoryRow) -> list[str]:
    return [
        row.name,
        row.latest_version or "",
        _pairs(row.aliases, ";"),
        row.owner or "",
        row.purpose or "",
        row.risk_tier or "",
        _pairs(row.training_data, ";"),
        row.source_notebook or "",
        row.source_cell or "",
        row.source_run_id or "",
        row.registered or "",
        _pairs(row.key_metrics, ";"),
        row.validation,
        ";".join(row.missing),
    ]


_HTML_COLUMNS = (
    "Model",
    "Latest",
    "Aliases",
    "Owner",
    "Purpose",
    "Risk tier",
    "Training data (fingerprint)",
    "Source notebook / cell / run",
    "Registered (UTC)",
    "Key metrics",
    "Validation",
    "Missing",
)


def _html_row(row: InventoryRow) -> str:
    def cell(text: str, cls: str = "") -> str:
        return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"

    e = html.escape
    data = "<br>".join(f"{e(k)} <code>{e(v)}</code>" for k, v in row.training_data.items())
    source = "<br>".join(
        e(part)
        for part in (
            row.source_notebook or "",
            f"cell {row.source_cell}" if row.source_cell else "",
            f"run {row.source_run_id}" if row.source_run_id else "",
        )
        if part
    )
    missing = ", ".join([*row.missing, *(f"job failed: {f}" for f in row.failed_jobs)])
    return (
        f'<tr class="{"incomplete" if row.missing else "complete"}">'
        + cell(f"<b>{e(row.name)}</b>")
        + cell(e(row.latest_version or "–"))
        + cell(e(_pairs(row.aliases, ", ")) or "–")
        + cell(e(row.owner or "–"))
        + cell(e(row.purpose or "–"))
        + cell(e(row.risk_tier or "–"))
        + cell(data or "–")
        + cell(source or "–")
        + cell(e(row.registered or "–"))
        + cell(e(_pairs(row.key_metrics, ", ")) or "–")
        + cell(e(row.validation), f"validation-{e(row.validation)}")
        + cell(e(missing) or "none", "missing" if missing else "")
        + "</tr>"
    )


_PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Model inventory</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }}
h1 {{ font-size: 1.4rem; margin-bottom: .2rem; }}
p.meta {{ color: #555; margin-top: 0; }}
table {{ border-collapse: collapse; width: 100%; font-size: .85rem; }}
th, td {{ border: 1px solid #ccc; padding: .35rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
tr.incomplete td {{ background: #fff4f4; }}
td.missing {{ color: #b00020; font-weight: bold; }}
td.validation-passed {{ color: #1b5e20; }}
td.validation-failed {{ color: #b00020; font-weight: bold; }}
td.validation-unvalidated {{ color: #8a6d00; }}
code {{ font-size: .8rem; }}
</style></head>
<body>
<h1>Model inventory</h1>
<p class="meta">Generated {generated} from {store}. {count} registered model(s);
{incomplete} missing a required field ({required}).</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>
</body></html>
"""
