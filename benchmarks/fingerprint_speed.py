"""Fingerprint speed: ``jupyter_mlops.fingerprint`` on large frames, and against MLflow's digest.

The frames are generated in memory from a fixed seed (nothing is read or downloaded):

* 1,000,000 x 50 float64 (400 MB): our fingerprint's median time (target: at most 1 s on two
  cores) and how many times faster it is than ``mlflow.data.from_pandas(df).digest`` on the
  same frame (target: at least 10x). MLflow's call takes over ten seconds here, so it runs
  twice (once with ``--quick``); ours runs after one warm-up call.
* 1,000,000 rows of strings, categoricals, numbers and timestamps: our time, for information
  (these columns go through ``pandas.util.hash_pandas_object`` instead of raw bytes).

The comparison does not favour us: MLflow's digest hashes only the first 10,000 rows (its
time goes into a Python-level ``type`` check of every cell), ours hashes all 1,000,000 rows.
Timing ``from_pandas(df).digest`` also includes building the dataset object (the digest is
computed in its constructor; schema and profile are computed lazily, so they are not timed).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks._common import Result, Target, median, timed

__all__ = ["NAME", "run"]

NAME = "fingerprint_speed"
ROWS = 1_000_000


def run(quick: bool = False) -> list[Result]:
    """Measure the fingerprint on a wide float frame and on a mixed frame."""
    repeats, mlflow_repeats = (3, 1) if quick else (7, 2)
    rng = np.random.default_rng(0)
    # One frame at a time: each helper's frame is freed when it returns.
    return [*_wide(rng, repeats, mlflow_repeats), _mixed(rng, repeats)]


def _wide(rng: np.random.Generator, repeats: int, mlflow_repeats: int) -> list[Result]:
    from jupyter_mlops import fingerprint

    frame = pd.DataFrame(rng.standard_normal((ROWS, 50)), columns=[f"x{i}" for i in range(50)])
    ours = _times(lambda: fingerprint(frame), repeats, warmup=1)
    theirs = _times(lambda: _mlflow_digest(frame), mlflow_repeats, warmup=0)
    if fingerprint(frame) != fingerprint(frame.copy()):
        raise RuntimeError("fingerprint differs between a frame and its copy")
    return [
        Result(
            NAME,
            "fingerprint 1,000,000 x 50 float64",
            median(ours),
            "s",
            Target("<=", 1.0),
            f"median of {repeats} after 1 warm-up: {_spread(ours)}",
        ),
        Result(
            NAME,
            "mlflow from_pandas().digest / fingerprint",
            median(theirs) / median(ours),
            "x",
            Target(">=", 10.0),
            f"from_pandas(df).digest, {mlflow_repeats} call(s): {_spread(theirs)}",
        ),
    ]


def _mixed(rng: np.random.Generator, repeats: int) -> Result:
    from jupyter_mlops import fingerprint

    frame = _mixed_frame(rng)
    times = _times(lambda: fingerprint(frame), repeats, warmup=1)
    dtypes = ", ".join(f"{name}: {dtype}" for name, dtype in frame.dtypes.items())
    return Result(
        NAME,
        f"fingerprint 1,000,000 x {frame.shape[1]} mixed columns",
        median(times),
        "s",
        None,
        f"{dtypes}; median of {repeats} after 1 warm-up: {_spread(times)}",
    )


def _times(function: Callable[[], object], repeats: int, *, warmup: int) -> list[float]:
    for _ in range(warmup):
        function()
    return [timed(function) for _ in range(repeats)]


def _mlflow_digest(frame: pd.DataFrame) -> str:
    from mlflow.data.pandas_dataset import from_pandas  # what mlflow.data.from_pandas is

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(from_pandas(frame).digest)


def _spread(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in sorted(times)) + " s"


def _mixed_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Strings (unique ids, a few cities), categoricals, floats, ints and timestamps."""
    ids = rng.permutation(ROWS)
    cities = np.array([f"city-{i:02d}" for i in range(40)], dtype=object)
    return pd.DataFrame(
        {
            "user_id": pd.Series(ids).map("user-{:07d}".format),
            "city": cities[rng.integers(0, len(cities), ROWS)],
            "segment": pd.Categorical(rng.choice(["a", "b", "c", "d", "e"], ROWS)),
            "country": pd.Categorical(rng.integers(0, 200, ROWS).astype(str)),
            "amount": rng.gamma(2.0, 30.0, ROWS),
            "visits": rng.integers(0, 100, ROWS),
            "seen": pd.Timestamp("2024-01-01") + pd.to_timedelta(ids, unit="s"),
        }
    )
