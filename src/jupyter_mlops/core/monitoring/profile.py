"""The training reference profile: a compact per-column summary of the data a model learnt from.

Stored at registration as ``reference/<dataset>.profile.json`` on the version's run, so drift
can later be measured against it without the raw training data. Format
``jupyter-mlops-profile/1`` (documented in ``docs/registry.md``)::

    {
      "format": "jupyter-mlops-profile/1",
      "dataset": "X_train", "fingerprint": "<32 hex>", "rows": 3750,
      "columns": {
        "income": {"kind": "numeric", "dtype": "float64", "missing_share": 0.0,
                   "mean": 52000.1, "std": 24000.3,
                   "bins": {"edges": [...], "counts": [...]}},
        "region": {"kind": "categorical", "dtype": "str", "missing_share": 0.01,
                   "frequencies": {"north": 0.41, "south": 0.33}, "other_share": 0.25}
      }
    }

Numeric bins are the deciles of the training data (duplicate edges merged); ``counts[i]``
counts values in ``[edges[i], edges[i+1])``, the last bin closed. ``frequencies`` hold the
shares of the 50 most frequent categories among non-missing values; ``other_share`` the rest.
Booleans are categorical (``"true"``/``"false"``); datetimes have ``"kind": "datetime"`` and
the numeric fields, in epoch seconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from jupyter_mlops.core.capture.fingerprint import fingerprint

__all__ = ["PROFILE_FORMAT", "profile_data"]

PROFILE_FORMAT = "jupyter-mlops-profile/1"
_BINS = 10
_TOP_CATEGORIES = 50


def profile_data(name: str, data: pd.DataFrame | pd.Series) -> dict[str, Any]:
    """Return the reference profile of ``data`` (a DataFrame, or a Series as one column)."""
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    columns = {str(column): _column(frame[column]) for column in frame.columns}
    return {
        "format": PROFILE_FORMAT,
        "dataset": name,
        "fingerprint": fingerprint(data),
        "rows": len(frame),
        "columns": columns,
    }


def _column(series: pd.Series) -> dict[str, Any]:
    rows = len(series)
    missing = int(series.isna().sum())
    base: dict[str, Any] = {
        "dtype": str(series.dtype),
        "missing_share": _round(missing / rows) if rows else 0.0,
    }
    if pd.api.types.is_bool_dtype(series.dtype):
        return {"kind": "categorical", **base, **_categories(series.map(_bool_text))}
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        present = series.dropna()
        epoch = pd.Timestamp(0, tz=present.dt.tz)
        seconds = (present - epoch) / pd.Timedelta(seconds=1)
        return {"kind": "datetime", **base, **_numeric(seconds.to_numpy(dtype=float))}
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.dropna().to_numpy(dtype=float)
        return {"kind": "numeric", **base, **_numeric(values[np.isfinite(values)])}
    return {"kind": "categorical", **base, **_categories(series)}


def _numeric(values: np.ndarray) -> dict[str, Any]:
    if values.size == 0:
        return {"mean": None, "std": None, "bins": {"edges": [], "counts": []}}
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, _BINS + 1)))
    if edges.size == 1:  # a constant column: one bin holding everything
        edges = np.array([edges[0], edges[0]])
    counts, _ = np.histogram(values, bins=edges)
    return {
        "mean": _round(float(values.mean())),
        "std": _round(float(values.std(ddof=1))) if values.size > 1 else 0.0,
        "bins": {
            "edges": [_round(float(edge)) for edge in edges],
            "counts": [int(count) for count in counts],
        },
    }


def _categories(series: pd.Series) -> dict[str, Any]:
    present = series.dropna()
    if present.empty:
        return {"frequencies": {}, "other_share": 0.0}
    shares = present.astype(str).value_counts(normalize=True, sort=True)
    top = shares.iloc[:_TOP_CATEGORIES]
    return {
        "frequencies": {str(key): _round(float(share)) for key, share in top.items()},
        "other_share": _round(max(0.0, round(1.0 - float(top.sum()), 12))),
    }


def _bool_text(value: Any) -> Any:
    return value if value is None or value is pd.NA else ("true" if value else "false")


def _round(value: float) -> float:
    return value if not math.isfinite(value) else float(f"{value:.10g}")
