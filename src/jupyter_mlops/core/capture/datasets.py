"""Data a cell used, recorded as MLflow dataset inputs carrying our full-content fingerprint.

Which data a cell used is read from its code: every name it mentions that holds a pandas
DataFrame or Series once the cell has run. The context says how the cell used it: names passed
to ``fit``-like calls are ``training``, to ``predict``/``score``-like calls ``evaluation``,
anything else ``input``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping

from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.types import ColSpec, DataType, Schema

from jupyter_mlops.core.capture.fingerprint import FINGERPRINT_FORMAT, DataSummary
from jupyter_mlops.core.tags import (
    DATA_FINGERPRINT_SUFFIX,
    DATA_TAG_PREFIX,
    FINGERPRINT_FORMAT_TAG,
)

__all__ = [
    "CONTEXT_TAG",
    "data_fingerprints",
    "dataset_input",
    "input_context",
    "referenced_names",
]

#: MLflow's input tag saying how a dataset was used (training, evaluation, input).
CONTEXT_TAG = "mlflow.data.context"

_TRAINING_CALLS = frozenset(
    {
        "fit",
        "fit_transform",
        "fit_predict",
        "partial_fit",
        "train",
        "cross_val_score",
        "cross_validate",
        "GridSearchCV",
    }
)
_EVALUATION_CALLS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "decision_function", "score", "evaluate"}
)
_CONTEXT_RANK = {"input": 0, "evaluation": 1, "training": 2}


def referenced_names(code: str) -> dict[str, str]:
    """Return the variable names ``code`` mentions, each with the context it was used in.

    Unparseable code yields an empty mapping (the cell will fail on its own).

    >>> referenced_names("model.fit(X, y)\\nscore(model.predict(X_test))")
    {'X': 'training', 'y': 'training', 'score': 'input', 'model': 'input', 'X_test': 'evaluation'}
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.setdefault(node.id, "input")
        elif isinstance(node, ast.Call):
            context = _call_context(node.func)
            if context is None:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Name):
                    current = found.get(arg.id, "input")
                    if _CONTEXT_RANK[context] > _CONTEXT_RANK[current]:
                        found[arg.id] = context
    # ast.walk visits a call before its arguments' Name nodes; keep first-seen order stable.
    ordered = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in ordered:
            ordered[node.id] = found[node.id]
    return ordered


def _call_context(func: ast.expr) -> str | None:
    name = (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id
        if isinstance(func, ast.Name)
        else None
    )
    if name in _TRAINING_CALLS:
        return "training"
    if name in _EVALUATION_CALLS:
        return "evaluation"
    return None


def dataset_input(name: str, summary: DataSummary, context: str) -> DatasetInput:
    """Build the MLflow dataset input for one recorded DataFrame or Series.

    The digest is our fingerprint (MLflow shows it in the run's Datasets section); the schema
    uses MLflow's column-spec format; the profile holds the row count. MLflow stores a dataset
    once per experiment and (name, digest), shared by every run that used it, so nothing
    run-specific goes into it: the source only names how the digest was computed.
    """
    dataset = Dataset(
        name=name,
        digest=summary.fingerprint,
        source_type="code",
        source=json.dumps({"tags": {FINGERPRINT_FORMAT_TAG: FINGERPRINT_FORMAT}}),
        schema=json.dumps({"mlflow_colspec": _colspec(summary)}),
        profile=json.dumps(
            {
                "num_rows": summary.rows,
                "num_elements": summary.rows * len(summary.columns),
                "kind": summary.kind,
            }
        ),
    )
    return DatasetInput(dataset=dataset, tags=[InputTag(key=CONTEXT_TAG, value=context)])


def input_context(item: DatasetInput) -> str:
    """How a recorded dataset input was used (``input`` when the run does not say)."""
    return next((t.value for t in item.tags if t.key == CONTEXT_TAG), "input")


def data_fingerprints(tags: Mapping[str, str]) -> dict[str, str]:
    """``{data name: fingerprint}`` from a run's or version's ``mlops.data.*`` tags, by name."""
    return {
        key[len(DATA_TAG_PREFIX) : -len(DATA_FINGERPRINT_SUFFIX)]: value
        for key, value in sorted(tags.items())
        if key.startswith(DATA_TAG_PREFIX) and key.endswith(DATA_FINGERPRINT_SUFFIX)
    }


def _colspec(summary: DataSummary) -> list[dict[str, object]]:
    return Schema(
        [ColSpec(_mlflow_type(dtype), column) for column, dtype in summary.columns]
    ).to_dict()


def _mlflow_type(dtype: str) -> DataType:
    lowered = dtype.lower()
    if lowered == "float64":
        return DataType.double
    if lowered.startswith("float"):
        return DataType.float
    if lowered in ("int64", "uint32", "uint64"):
        return DataType.long
    if lowered.startswith(("int", "uint")):
        return DataType.integer
    if lowered.startswith("bool"):
        return DataType.boolean
    if lowered.startswith("datetime"):
        return DataType.datetime
    return DataType.string
