"""Full-content fingerprints of pandas data, stable across processes and machines.

MLflow's own ``from_pandas(df).digest`` hashes only the first 10,000 rows and is slow on large
frames. Ours covers every row, excludes the index (re-indexing is not a data change), and
includes column names and dtypes (``1`` and ``1.0`` are different data to a model).

Algorithm (version 1):

* each column is hashed with SHA-256 on its own: numeric, boolean and datetime columns by their
  raw little-endian bytes (NaNs canonicalised first, so all NaN payloads hash alike); any other
  column (strings, categoricals, nullable extension types) through
  ``pandas.util.hash_pandas_object`` with its fixed key, which is deterministic across processes
  and hashes categoricals by value;
* the fingerprint is the first 128 bits (32 hex digits) of SHA-256 over a header (format
  version, kind, shape, every column's name and dtype) followed by the column digests in order.

Columns are hashed on a small thread pool; ``hashlib`` releases the GIL on large buffers, so a
1,000,000 x 50 float frame takes about 0.2 s on two cores.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FINGERPRINT_FORMAT", "DataSummary", "fingerprint", "is_tabular", "summarize"]

#: Names the algorithm; part of every digest, and recorded with every dataset input.
FINGERPRINT_FORMAT = "jupyter-mlops-fingerprint/1"
_FORMAT = FINGERPRINT_FORMAT.encode()
# Below this many cells a thread pool costs more than it saves.
_PARALLEL_MIN_CELLS = 200_000


@dataclass(frozen=True)
class DataSummary:
    """What we record about one pandas object: its fingerprint, size and schema."""

    fingerprint: str
    rows: int
    columns: tuple[tuple[str, str], ...]  # (column name, dtype) in order
    kind: str  # "DataFrame" or "Series"


def is_tabular(obj: object) -> bool:
    """Return True for the objects we fingerprint: pandas DataFrames and Series."""
    return isinstance(obj, (pd.DataFrame, pd.Series))


def fingerprint(data: pd.DataFrame | pd.Series) -> str:
    """Return the 32-hex-digit full-content fingerprint of a DataFrame or Series.

    >>> a = pd.DataFrame({"a": [1, 2]})
    >>> fingerprint(a) == fingerprint(a.set_axis([5, 6]))  # the index is not data
    True

    Raises:
        TypeError: when ``data`` is not a pandas DataFrame or Series.
    """
    frame, kind = _as_frame(data)
    header = hashlib.sha256(_FORMAT)
    header.update(f"\0{kind}\0{frame.shape[0]}\0{frame.shape[1]}".encode())
    for name, dtype in _schema(frame):
        header.update(f"\0{name}\0{dtype}".encode())
    for digest in _column_digests(frame):
        header.update(digest)
    return header.hexdigest()[:32]


def summarize(data: pd.DataFrame | pd.Series) -> DataSummary:
    """Return the fingerprint, row count and schema of a DataFrame or Series."""
    frame, kind = _as_frame(data)
    return DataSummary(
        fingerprint=fingerprint(data),
        rows=int(frame.shape[0]),
        columns=tuple(_schema(frame)),
        kind=kind,
    )


def _as_frame(data: Any) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, "DataFrame"
    if isinstance(data, pd.Series):
        name = "" if data.name is None else data.name
        return data.to_frame(name=name), "Series"
    raise TypeError(
        f"cannot fingerprint {type(data).__name__}: expected a pandas DataFrame or Series"
    )


def _schema(frame: pd.DataFrame) -> Iterator[tuple[str, str]]:
    for name, dtype in zip(frame.columns, frame.dtypes, strict=False):
        yield (name if isinstance(name, str) else repr(name)), str(dtype)


def _column_digests(frame: pd.DataFrame) -> list[bytes]:
    columns = [frame.iloc[:, i] for i in range(frame.shape[1])]
    workers = min(len(columns), os.cpu_count() or 1)
    if frame.size < _PARALLEL_MIN_CELLS or workers < 2:
        return [_hash_column(c) for c in columns]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlops-fingerprint") as pool:
        return list(pool.map(_hash_column, columns))


def _hash_column(column: pd.Series) -> bytes:
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        return _hash_numeric(column.to_numpy(copy=False))
    hashed = pd.util.hash_pandas_object(column, index=False, categorize=True).to_numpy()
    return hashlib.sha256(np.ascontiguousarray(hashed).data).digest()


def _hash_numeric(array: np.ndarray[Any, Any]) -> bytes:
    if array.dtype.kind in "mM":
        array = array.view("i8")
    elif array.dtype.kind in "fc":
        nan = np.isnan(array)
        if nan.any():
            array = np.where(nan, np.nan, array)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and np.little_endian is False):
        array = array.astype(array.dtype.newbyteorder("<"))
    array = np.ascontiguousarray(array)
    return hashlib.sha256(array.data).digest()
