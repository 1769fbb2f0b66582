"""The statistics behind the validation gates: paired bootstrap, PSI, group metrics, slices.

Everything here is pure computation on arrays (numpy, pandas, scikit-learn, fairlearn); it
reads no store and knows no policy. The gates (thresholds, verdicts, the decision record)
are built on top of it.

* :func:`paired_bootstrap`: champion and challenger scored on the **same** resampled rows;
  the interval of (challenger - champion) is what relative gates use. Vectorised: the
  resamples are drawn as index matrices, a chunk of them at a time, and each metric is
  computed for the whole chunk with array operations (no Python loop per resample).
* :func:`psi`: population stability index on the reference's decile edges.
* :func:`group_metrics`: per-group selection rate, TPR, FPR and count through fairlearn's
  ``MetricFrame``, and the summary fairness metrics over the groups large enough to gate.
* :func:`slice_spread`: a metric per slice and its max - min spread.

Labels: the target must hold exactly two classes; the positive class is the greater one
(scikit-learn's convention: ``1`` of ``{0, 1}``, ``True`` of ``{False, True}``, ``"yes"`` of
``{"no", "yes"}``). Scores are the positive class's probability (or any score for
``roc_auc``); a row is predicted positive when its score is above 0.5, as a probabilistic
classifier's ``predict`` does, so labels 0/1 given as scores work as they are.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from jupyter_mlops.core.errors import ErrorCode, MlopsError

__all__ = [
    "FAIRNESS_METRICS",
    "METRICS",
    "PSI_EPSILON",
    "AttributeFairness",
    "BootstrapResult",
    "SliceSpread",
    "group_metrics",
    "paired_bootstrap",
    "psi",
    "resample_indices",
    "slice_spread",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CountArray = npt.NDArray[np.int32]
SmallCountArray = npt.NDArray[np.int16]

#: The metrics the bootstrap and the slices compute, named as MLflow's evaluation names them.
METRICS: Final = ("roc_auc", "accuracy_score", "log_loss")

#: Proportion given to an empty PSI bin (on either side) so that its log ratio is finite.
PSI_EPSILON: Final = 1e-4

#: Resampled rows held in memory at once (a chunk of resamples x rows): 16 MB of int32 indices,
#: 32 MB of their int64 positions, 8 MB of int16 counts and a few gathered copies at a time,
#: whatever the evaluation set's size.
_CHUNK_ELEMENTS: Final = 4_000_000


# ---------------------------------------------------------------------------------------------
# Input checks


def _usage(message: str) -> MlopsError:
    return MlopsError(message, ErrorCode.USAGE)


def _binary_target(y_true: Any) -> IntArray:
    """The target as 0/1 (positive = the greater of its two classes); USAGE otherwise."""
    values = np.asarray(y_true)
    if values.ndim != 1:
        raise _usage(f"the target must be one column, got shape {values.shape}")
    if values.size == 0:
        raise _usage("the target is empty")
    if pd.isna(values).any():
        raise _usage("the target has missing values")
    classes = np.unique(values)
    if classes.size != 2:
        shown = ", ".join(repr(c.item() if hasattr(c, "item") else c) for c in classes[:5])
        raise _usage(f"the target must have exactly two classes, it has {classes.size} ({shown})")
    positive: IntArray = (values == classes[1]).astype(np.int64)
    return positive


def _scores(scores: Any, rows: int, what: str) -> FloatArray:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 2:  # predict_proba: the positive column
        values = values[:, 1]
    if values.ndim != 1:
        raise _usage(f"the {what} scores must be one column, got shape {values.shape}")
    if values.shape[0] != rows:
        raise _usage(f"the {what} scores have {values.shape[0]} rows, the target has {rows}")
    if not np.isfinite(values).all():
        raise _usage(f"the {what} scores have missing or infinite values")
    return values


def _metric_name(metric: str) -> str:
    if metric not in METRICS:
        raise _usage(f"unknown metric {metric!r} (known: {', '.join(METRICS)})")
    return metric


# ---------------------------------------------------------------------------------------------
# Paired bootstrap


@dataclass(frozen=True)
class BootstrapResult:
    """A paired bootstrap of (challenger - champion) on the same resampled rows.

    ``differences`` holds one value per resample (NaN where the metric is undefined on that
    resample, e.g. ``roc_auc`` of a resample with a single class); the interval is the
    percentile interval of the defined ones, and ``skipped`` counts the others.
    """

    metric: str
    challenger: float
    champion: float
    difference: float
    lower: float
    upper: float
    confidence: float
    resamples: int
    skipped: int
    differences: FloatArray = field(repr=False, compare=False)

    @property
    def interval(self) -> tuple[float, float]:
        """``(lower, upper)`` of (challenger - champion) at ``confidence``."""
        return (self.lower, self.upper)


def resample_indices(
    rows: int, n: int, *, seed: int = 0, chunk: int | None = None
) -> Iterator[CountArray]:
    """The resamples :func:`paired_bootstrap` draws: ``(k, rows)`` index matrices, in order.

    Each row of a matrix is one resample (``rows`` indices drawn with replacement); the
    matrices together hold ``n`` resamples. The same ``rows``, ``n`` and ``seed`` always give
    the same resamples (the chunk size only depends on ``rows`` unless given).

    >>> [m.shape for m in resample_indices(10, 5, chunk=2)]
    [(2, 10), (2, 10), (1, 10)]
    """
    if chunk is None:
        chunk = max(1, _CHUNK_ELEMENTS // max(rows, 1))
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        size = min(chunk, n - done)
        # int32: drawn about twice as fast as int64 (and half the memory).
        yield rng.integers(0, rows, size=(size, rows), dtype=np.int32)
        done += size


def _counts(indices: CountArray, rows: int) -> SmallCountArray:
    """How many times each row is drawn in each resample: ``(k, rows)``, from the indices.

    int16: a quarter of int64's memory traffic in the gathers and sums that follow. A row is
    drawn more than 32,767 times in a resample with probability below 1/32767! (the count is
    about Poisson(1)); the check below would still catch the wrap-around.
    """
    k = indices.shape[0]
    flat = indices + (np.arange(k, dtype=np.int64) * rows)[:, None]
    counts = np.zeros(k * rows, dtype=np.int16)
    # ufunc.at rather than bincount: in place and without bincount's extra min/max pass and
    # int64 result. The increment is an array of the counts' type: with a Python int, numpy
    # leaves the fast path of ufunc.at (measured 5x slower).
    np.add.at(counts, flat.ravel(), np.ones(1, dtype=np.int16))
    if counts.min() < 0:  # pragma: no cover - see above
        raise MlopsError("a bootstrap count overflowed", ErrorCode.INTERNAL)
    return counts.reshape(k, rows)


class _RankedScores:
    """One model's scores sorted once; the AUC of any row weighting is then array arithmetic.

    With ``w`` the resample's counts, the AUC is Mann-Whitney's statistic with weights:
    ``sum_pos sum_neg w_i w_j ([s_i > s_j] + 0.5 [s_i == s_j]) / (W_pos W_neg)``, which is
    what ``roc_auc_score`` computes on the resampled rows (its trapezoids count ties as 0.5).
    The negatives are taken in score order and their counts summed cumulatively; each
    positive then reads how many resampled negatives lie strictly below its score (and, when
    scores tie across classes, how many equal it) at a position found once by binary search.
    Everything is counted in integers (exact) and divided once.
    """

    def __init__(self, scores: FloatArray, positive: IntArray) -> None:
        is_positive = positive.astype(bool)
        negatives = np.flatnonzero(~is_positive)
        self.negatives = negatives[np.argsort(scores[negatives], kind="stable")]
        self.positives = np.flatnonzero(is_positive)
        ordered = scores[self.negatives]
        wanted = scores[self.positives]
        self.below = np.searchsorted(ordered, wanted, side="left")
        upto = np.searchsorted(ordered, wanted, side="right")
        self.tied: IntArray | None = upto if (upto != self.below).any() else None

    def auc(self, counts: SmallCountArray, positives: SmallCountArray | None = None) -> FloatArray:
        """Each resample's AUC; ``positives`` is ``counts[:, self.positives]`` if known (the
        positives are in row order, the same for every model, so it can be shared)."""
        k = counts.shape[0]
        # int32 cells: a cumulative count is at most the rows, times a row's count (about
        # Poisson(1), in practice below 20) it stays below 2**31 up to ~100 million rows;
        # row sums in int64. Exact.
        cumulative = np.zeros((k, self.negatives.size + 1), dtype=np.int32)
        np.cumsum(counts[:, self.negatives], axis=1, dtype=np.int32, out=cumulative[:, 1:])
        pos = counts[:, self.positives] if positives is None else positives
        below = cumulative[:, self.below]
        twice = 2 * (pos * below).sum(axis=1, dtype=np.int64)
        if self.tied is not None:  # negatives tied with a positive count one half
            equal = cumulative[:, self.tied] - below
            twice += (pos * equal).sum(axis=1, dtype=np.int64)
        n_pos = pos.sum(axis=1, dtype=np.int64)
        n_neg = cumulative[:, -1].astype(np.int64)
        denominator = (2 * n_pos * n_neg).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            result = twice / denominator
        result[denominator == 0] = np.nan
        return np.asarray(result, dtype=np.float64)

    def __call__(self, counts: SmallCountArray) -> FloatArray:
        return self.auc(counts)


_ChunkMetric = Callable[[SmallCountArray], FloatArray]


def _chunk_metric(metric: str, positive: IntArray, scores: FloatArray) -> _ChunkMetric:
    """A function from a chunk's counts ``(k, rows)`` to the metric of each resample."""
    rows = positive.shape[0]
    if metric == "roc_auc":
        return _RankedScores(scores, positive)
    if metric == "accuracy_score":
        correct = ((scores > 0.5).astype(np.int64) == positive).astype(np.float64)
        return lambda counts: np.asarray(counts @ correct / rows, dtype=np.float64)
    losses = _row_log_loss(positive, scores)
    return lambda counts: np.asarray(counts @ losses / rows, dtype=np.float64)


def _row_log_loss(positive: IntArray, scores: FloatArray) -> FloatArray:
    """Each row's log loss, probabilities clipped to float64's eps as ``log_loss`` does."""
    eps = np.finfo(np.float64).eps
    p = np.clip(scores, eps, 1 - eps)
    return np.asarray(-np.where(positive == 1, np.log(p), np.log1p(-p)), dtype=np.float64)


def _point(metric: str, positive: IntArray, scores: FloatArray) -> float:
    ones = np.ones((1, positive.shape[0]), dtype=np.int16)
    return float(_chunk_metric(metric, positive, scores)(ones)[0])


def paired_bootstrap(
    y_true: Any,
    score_challenger: Any,
    score_champion: Any,
    metric: str,
    *,
    n: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Bootstrap ``metric`` of challenger and champion on the same resampled rows.

    ``n`` resamples of the rows (with replacement, drawn by :func:`resample_indices` from
    ``seed``); in each, both models' metric on the same rows and their difference
    (challenger - champion). The interval is the percentile interval of the differences at
    ``confidence``. ``metric`` is one of :data:`METRICS`. A resample where the metric is
    undefined (``roc_auc`` with one class in it: only possible for tiny or very imbalanced
    sets) gives NaN, is left out of the interval and counted in ``skipped``; if every
    resample is undefined the call fails.

    Memory stays modest: resamples are processed a chunk at a time (about four million
    resampled rows per chunk, e.g. 40 resamples of 100,000 rows).

    >>> y = [0, 0, 1, 1, 0, 1, 0, 1]
    >>> better = [0.1, 0.2, 0.8, 0.9, 0.3, 0.7, 0.4, 0.6]
    >>> worse = [0.1, 0.6, 0.8, 0.4, 0.3, 0.7, 0.4, 0.2]
    >>> result = paired_bootstrap(y, better, worse, "roc_auc", n=200, seed=1)
    >>> result.challenger, result.champion, result.difference
    (1.0, 0.71875, 0.28125)
    >>> result.lower >= 0, result.differences.shape
    (True, (200,))

    With 8 rows, one resample drew a single class: its AUC is undefined, it is skipped.

    >>> result.skipped, int(np.isnan(result.differences).sum())
    (1, 1)
    """
    metric = _metric_name(metric)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise _usage(f"the number of bootstrap resamples must be a positive integer, got {n!r}")
    if not 0 < confidence < 1:
        raise _usage(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    positive = _binary_target(y_true)
    rows = positive.shape[0]
    challenger = _scores(score_challenger, rows, "challenger")
    champion = _scores(score_champion, rows, "champion")
    of_challenger = _chunk_metric(metric, positive, challenger)
    of_champion = _chunk_metric(metric, positive, champion)
    differences = np.empty(n, dtype=np.float64)
    done = 0
    for indices in resample_indices(rows, n, seed=seed):
        counts = _counts(indices, rows)
        del indices
        k = counts.shape[0]
        if isinstance(of_challenger, _RankedScores) and isinstance(of_champion, _RankedScores):
            shared = counts[:, of_challenger.positives]  # the same columns for both models
            values = of_challenger.auc(counts, shared) - of_champion.auc(counts, shared)
        else:
            values = of_challenger(counts) - of_champion(counts)
        differences[done : done + k] = values
        done += k
    defined = differences[~np.isnan(differences)]
    if defined.size == 0:
        raise _usage(f"{metric} is undefined on every bootstrap resample (too few rows?)")
    tail = (1 - confidence) / 2
    lower, upper = np.quantile(defined, [tail, 1 - tail])
    value_challenger = _point(metric, positive, challenger)
    value_champion = _point(metric, positive, champion)
    return BootstrapResult(
        metric=metric,
        challenger=value_challenger,
        champion=value_champion,
        difference=value_challenger - value_champion,
        lower=float(lower),
        upper=float(upper),
        confidence=confidence,
        resamples=n,
        skipped=n - int(defined.size),
        differences=differences,
    )


# ---------------------------------------------------------------------------------------------
# PSI


def psi(reference: Any, current: Any, *, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    Bins are the reference's quantiles (deciles for ``bins=10``, the credit-risk
    convention): interior edges at the reference's ``1/bins ... (bins-1)/bins`` quantiles,
    the outer bins open-ended, so every value of either set falls in a bin. Tied quantiles
    (a reference with few distinct values) are merged, giving fewer bins. With ``r`` and
    ``c`` the share of each set in a bin, ``PSI = sum((c - r) * ln(c / r))``; an empty bin's
    share is raised to :data:`PSI_EPSILON` (1e-4) so its term stays finite. Rules of thumb:
    below 0.10 stable, 0.10-0.25 a moderate shift, above 0.25 a significant one.

    Used for ``score_psi_vs_champion`` (champion's scores as reference, challenger's as
    current, same rows) and ``score_psi_train_vs_eval`` (training scores as reference).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> round(psi(rng.normal(size=10_000), rng.normal(size=10_000)), 3) < 0.01
    True
    >>> psi(rng.normal(size=10_000), rng.normal(1.0, size=10_000)) > 0.25
    True
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise _usage(f"PSI needs at least 2 bins, got {bins!r}")
    ref = _finite(reference, "reference")
    cur = _finite(current, "current")
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    ref_share = _shares(ref, edges)
    cur_share = _shares(cur, edges)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def _finite(values: Any, what: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise _usage(f"the {what} values for PSI are empty")
    if not np.isfinite(array).all():
        raise _usage(f"the {what} values for PSI have missing or infinite values")
    return array


def _shares(values: FloatArray, edges: FloatArray) -> FloatArray:
    # side="right": a value equal to an edge goes to the bin above it, i.e. bins [e_k, e_k+1).
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    return np.maximum(counts / values.size, PSI_EPSILON)


# ---------------------------------------------------------------------------------------------
# Fairness

#: The summary metrics, each a fairlearn.metrics function of (y_true, y_pred, sensitive).
FAIRNESS_METRICS: Final = (
    "demographic_parity_ratio",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)


@dataclass(frozen=True)
class AttributeFairness:
    """Group metrics of one sensitive attribute.

    ``groups`` has one row per group (index: the group's value) and the columns
    ``selection_rate``, ``true_positive_rate``, ``false_positive_rate``, ``count`` and
    ``gated`` (False for groups smaller than ``min_group_size``: reported, not gated).
    ``summary`` holds :data:`FAIRNESS_METRICS` computed over the gated groups only; NaN when
    fewer than two groups are gated (nothing to compare). A group without positives (or
    without negatives) has a true (false) positive rate of 0, fairlearn's convention, which
    the equalized-odds summaries then include.
    """

    attribute: str
    groups: pd.DataFrame = field(compare=False)
    summary: dict[str, float]
    min_group_size: int

    @property
    def not_gated(self) -> list[Any]:
        """The groups too small to gate."""
        return list(self.groups.index[~self.groups["gated"]])


def group_metrics(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    *,
    min_group_size: int,
    attributes: Sequence[str] | None = None,
) -> dict[str, AttributeFairness]:
    """Per-group metrics and fairness summaries of predictions, per sensitive attribute.

    ``y_pred`` are predicted labels (or scores, predicted positive above 0.5); ``sensitive``
    holds one column per attribute, row for row with ``y_true`` (its index is ignored).
    ``attributes`` names the columns to use (all of them by default); a name missing from
    the frame, a target with one class or mismatched lengths raise ``MlopsError(USAGE)``.
    The per-group metrics come from fairlearn's ``MetricFrame``; the summaries from
    ``fairlearn.metrics`` on the rows of groups with at least ``min_group_size`` rows.

    >>> import pandas as pd
    >>> y = [1, 0, 1, 0, 1, 0, 1, 0]
    >>> pred = [1, 0, 1, 1, 0, 0, 0, 0]
    >>> frame = pd.DataFrame({"owner": ["a", "a", "a", "a", "b", "b", "b", "b"]})
    >>> result = group_metrics(y, pred, frame, min_group_size=2)["owner"]
    >>> result.groups["selection_rate"].to_dict()
    {'a': 0.75, 'b': 0.0}
    >>> result.summary["demographic_parity_difference"]
    0.75
    """
    if not isinstance(sensitive, pd.DataFrame):
        raise _usage("the sensitive features must be a DataFrame (one column per attribute)")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int):
        raise _usage(f"min_group_size must be an integer, got {min_group_size!r}")
    positive = _binary_target(y_true)
    rows = positive.shape[0]
    predicted = _labels(y_pred, rows)
    names = list(sensitive.columns) if attributes is None else list(attributes)
    missing = [name for name in names if name not in sensitive.columns]
    if missing:
        raise _usage(
            f"sensitive column {missing[0]!r} is not in the data "
            f"(columns: {', '.join(map(str, sensitive.columns))})"
        )
    if not names:
        raise _usage("no sensitive attribute given")
    if len(sensitive) != rows:
        raise _usage(f"the sensitive features have {len(sensitive)} rows, the target has {rows}")
    return {
        str(name): _attribute(str(name), positive, predicted, sensitive[name], min_group_size)
        for name in names
    }


def _labels(y_pred: Any, rows: int) -> IntArray:
    values = np.asarray(y_pred)
    if values.shape != (rows,):
        raise _usage(f"the predictions have shape {values.shape}, the target has {rows} rows")
    if values.dtype == bool:
        return values.astype(np.int64)
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        raise _usage(
            "the predictions must be 0/1 labels, booleans or scores of the positive class"
        ) from None
    if not np.isfinite(numbers).all():
        raise _usage("the predictions have missing or infinite values")
    return (numbers > 0.5).astype(np.int64)


def _attribute(
    name: str, positive: IntArray, predicted: IntArray, column: pd.Series, min_size: int
) -> AttributeFairness:
    """One attribute's groups and summaries, through fairlearn on the confusion counts.

    Every metric here depends only on how many rows of each group fall in each (target,
    prediction) cell, so fairlearn is given those cells (at most 4 per group) with their row
    counts as ``sample_weight``: the same numbers as on the rows themselves, but fairlearn's
    per-call cost no longer grows with the rows (on 100,000 rows it spends seconds converting
    each column element by element).
    """
    # fairlearn ships no type information; imported as a module object (typed Any inside),
    # so mypy needs no override for it.
    fm = importlib.import_module("fairlearn.metrics")

    values = column.to_numpy()
    if pd.isna(values).any():
        raise _usage(f"sensitive column {name!r} has missing values")
    cells = (
        pd.DataFrame({"group": values, "y_true": positive, "y_pred": predicted})
        .groupby(["group", "y_true", "y_pred"], sort=True, observed=True)
        .size()
        .reset_index(name="rows")
    )
    weight = cells["rows"].to_numpy(dtype=np.float64)
    frame = fm.MetricFrame(
        metrics={
            "selection_rate": fm.selection_rate,
            "true_positive_rate": fm.true_positive_rate,
            "false_positive_rate": fm.false_positive_rate,
            "count": _weighted_count,
        },
        y_true=cells["y_true"].to_numpy(),
        y_pred=cells["y_pred"].to_numpy(),
        sensitive_features=pd.Series(cells["group"].to_numpy(), name=name),
        sample_params={
            metric: {"sample_weight": weight}
            for metric in ("selection_rate", "true_positive_rate", "false_positive_rate", "count")
        },
    )
    groups = frame.by_group.copy()
    groups["count"] = groups["count"].astype(np.int64)
    groups["gated"] = groups["count"] >= min_size
    large = cells["group"].isin(groups.index[groups["gated"]]).to_numpy()
    summary: dict[str, float]
    if int(groups["gated"].sum()) < 2:
        summary = dict.fromkeys(FAIRNESS_METRICS, math.nan)
    else:
        summary = {
            metric: float(
                getattr(fm, metric)(
                    cells["y_true"].to_numpy()[large],
                    cells["y_pred"].to_numpy()[large],
                    sensitive_features=cells["group"].to_numpy()[large],
                    sample_weight=weight[large],
                )
            )
            for metric in FAIRNESS_METRICS
        }
    return AttributeFairness(name, groups, summary, min_size)


def _weighted_count(y_true: Any, y_pred: Any, sample_weight: Any) -> float:
    """The rows of a group, from the weights of its confusion cells (fairlearn's ``count``
    takes no weights)."""
    return float(np.sum(sample_weight))


# ---------------------------------------------------------------------------------------------
# Slices


@dataclass(frozen=True)
class SliceSpread:
    """A metric per slice and its spread (max - min over the slices where it is defined).

    ``per_slice`` maps each slice's value to the metric (NaN where undefined: ``roc_auc`` of
    a slice with one class); ``spread`` is NaN when fewer than two slices have a value.
    """

    metric: str
    per_slice: dict[Any, float]
    counts: dict[Any, int]
    spread: float


def slice_spread(y_true: Any, scores: Any, slices: Any, metric: str) -> SliceSpread:
    """``metric`` on each slice of the rows (e.g. each region) and the max - min spread.

    >>> y = [0, 1, 0, 1, 0, 1, 0, 1]
    >>> s = [0.2, 0.8, 0.3, 0.9, 0.6, 0.4, 0.1, 0.7]
    >>> result = slice_spread(y, s, ["n", "n", "n", "n", "s", "s", "s", "s"], "accuracy_score")
    >>> result.per_slice, result.spread
    ({'n': 1.0, 's': 0.5}, 0.5)
    """
    metric = _metric_name(metric)
    positive = _binary_target(y_true)
    rows = positive.shape[0]
    values = _scores(scores, rows, "model's")
    labels = np.asarray(slices)
    if labels.shape != (rows,):
        raise _usage(f"the slice column has shape {labels.shape}, the target has {rows} rows")
    if pd.isna(labels).any():
        raise _usage("the slice column has missing values")
    per_slice: dict[Any, float] = {}
    counts: dict[Any, int] = {}
    for value in pd.unique(labels):
        mask = labels == value
        key = value.item() if isinstance(value, np.generic) else value
        counts[key] = int(mask.sum())
        per_slice[key] = _point(metric, positive[mask], values[mask])
    defined = [v for v in per_slice.values() if not math.isnan(v)]
    spread = max(defined) - min(defined) if len(defined) >= 2 else math.nan
    return SliceSpread(metric, per_slice, counts, float(spread))
