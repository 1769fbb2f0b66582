"""Full-content fingerprints: every row, no index, names and dtypes, stable across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops import fingerprint
from jupyter_mlops.core.capture.fingerprint import summarize

FRAME_CODE = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "income": rng.normal(50_000, 10_000, 30_000),
        "age": rng.integers(18, 90, 30_000),
        "segment": pd.Categorical(rng.choice(["retail", "sme", "corp"], 30_000)),
        "name": [f"c{i}" for i in range(30_000)],
        "opened": pd.date_range("2020-01-01", periods=30_000, freq="h"),
    })
    """
)


def _frame() -> pd.DataFrame:
    namespace: dict[str, object] = {}
    exec(FRAME_CODE, namespace)
    frame = namespace["frame"]
    assert isinstance(frame, pd.DataFrame)
    return frame


def test_same_data_same_digest_in_another_process():
    script = FRAME_CODE + "from jupyter_mlops import fingerprint\nprint(fingerprint(frame))"
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == fingerprint(_frame())


def test_one_changed_cell_changes_the_digest_even_beyond_10k_rows():
    frame = _frame()
    changed = frame.copy()
    changed.loc[25_000, "income"] += 0.01  # past the 10k rows MLflow's own digest looks at
    assert fingerprint(changed) != fingerprint(frame)
    renamed_category = frame.copy()
    renamed_category.loc[29_999, "segment"] = (
        "sme" if frame.loc[29_999, "segment"] != "sme" else "corp"
    )
    assert fingerprint(renamed_category) != fingerprint(frame)


def test_index_is_excluded():
    frame = _frame()
    assert fingerprint(frame.set_axis(range(100, 100 + len(frame)))) == fingerprint(frame)


def test_column_names_order_and_dtypes_are_included():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    assert fingerprint(frame.rename(columns={"a": "x"})) != fingerprint(frame)
    assert fingerprint(frame[["b", "a"]]) != fingerprint(frame)
    assert fingerprint(frame.astype({"a": "float64"})) != fingerprint(frame)


def test_row_order_matters():
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert fingerprint(frame.iloc[::-1]) != fingerprint(frame)


def test_all_nan_payloads_hash_alike():
    payload_nan = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), dtype=np.float64)[0]
    plain = pd.DataFrame({"a": [1.0, np.nan]})
    odd = pd.DataFrame({"a": [1.0, payload_nan]})
    assert np.isnan(odd["a"].iloc[1])
    assert fingerprint(odd) == fingerprint(plain)


def test_series_and_summary():
    series = pd.Series([1.5, 2.5], name="score")
    summary = summarize(series)
    assert summary.kind == "Series" and summary.rows == 2
    assert summary.columns == (("score", "float64"),)
    assert summary.fingerprint == fingerprint(series)
    assert fingerprint(series) != fingerprint(series.to_frame())


def test_non_pandas_is_refused():
    with pytest.raises(TypeError, match="expected a pandas DataFrame or Series"):
        fingerprint([1, 2, 3])  # type: ignore[arg-type]


def test_large_frame_uses_threads_and_matches_serial():
    frame = pd.DataFrame(np.arange(1_000_000, dtype="float64").reshape(250_000, 4))
    halves = fingerprint(frame)
    assert halves == fingerprint(frame.copy())
    assert len(halves) == 32
