"""The statistics of the validation gates, on real data and real scikit-learn models.

The bootstrap is checked resample by resample against scikit-learn on the very rows it drew;
the fairness metrics against a model biased on purpose; PSI against known shifts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.gates.statistics import (
    FAIRNESS_METRICS,
    group_metrics,
    paired_bootstrap,
    psi,
    resample_indices,
    slice_spread,
)


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out target and the scores of two real models (one with many tied scores)."""
    X, y = make_classification(
        n_samples=4000, n_features=8, n_informative=4, flip_y=0.1, random_state=3
    )
    train, test = slice(0, 2500), slice(2500, None)
    champion = LogisticRegression(max_iter=500).fit(X[train], y[train])
    challenger = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)
    challenger.fit(X[train], y[train])
    return (
        y[test],
        challenger.predict_proba(X[test])[:, 1],
        champion.predict_proba(X[test])[:, 1],
    )


def _sklearn(metric: str, y: np.ndarray, s: np.ndarray) -> float:
    if metric == "roc_auc":
        return float(roc_auc_score(y, s))
    if metric == "accuracy_score":
        return float(accuracy_score(y, (s > 0.5).astype(int)))
    return float(log_loss(y, s, labels=[0, 1]))


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy_score", "log_loss"])
def test_each_resample_equals_sklearn_on_the_rows_it_drew(
    scored: tuple[np.ndarray, np.ndarray, np.ndarray], metric: str
) -> None:
    y, challenger, champion = scored
    # Rounded scores tie a lot, across classes too: the AUC's half-counted ties are exercised.
    champion = np.round(champion, 2)
    result = paired_bootstrap(y, challenger, champion, metric, n=30, seed=7)
    (indices,) = list(resample_indices(len(y), 30, seed=7))
    for b in range(30):
        rows = indices[b]
        expected = _sklearn(metric, y[rows], challenger[rows]) - _sklearn(
            metric, y[rows], champion[rows]
        )
        assert result.differences[b] == pytest.approx(expected, abs=1e-9)
    assert result.challenger == pytest.approx(_sklearn(metric, y, challenger), abs=1e-12)
    assert result.champion == pytest.approx(_sklearn(metric, y, champion), abs=1e-12)
    assert result.difference == pytest.approx(result.challenger - result.champion)
    lower, upper = np.quantile(result.differences, [0.025, 0.975])
    assert result.interval == pytest.approx((lower, upper))
    assert result.skipped == 0


def test_resamples_are_drawn_in_bounded_chunks() -> None:
    """100,000 rows x 1,000 resamples never sit in memory at once."""
    shapes = [m.shape for m in resample_indices(100_000, 1000)]
    assert sum(k for k, _ in shapes) == 1000
    assert max(k for k, _ in shapes) * 100_000 <= 4_000_000


def test_the_same_seed_gives_the_same_interval(
    scored: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, challenger, champion = scored
    first = paired_bootstrap(y, challenger, champion, "roc_auc", n=100, seed=5)
    again = paired_bootstrap(y, challenger, champion, "roc_auc", n=100, seed=5)
    other = paired_bootstrap(y, challenger, champion, "roc_auc", n=100, seed=6)
    assert first == again
    assert np.array_equal(first.differences, again.differences)
    assert first.interval != other.interval


def _loan_book(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(size=rows),
            "debt_ratio": rng.normal(size=rows),
            "history": rng.normal(size=rows),
            "home_owner": rng.choice(["own", "rent", "mortgage"], rows),
            "age_band": rng.choice(["18-30", "31-50", "51+"], rows, p=[0.3, 0.5, 0.2]),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )
    logit = frame["income"] - frame["debt_ratio"] + 0.5 * frame["history"]
    frame["default"] = (rng.random(rows) < 1 / (1 + np.exp(logit))).astype(int)
    return frame


def test_an_equal_but_noisier_challenger_fails_a_tight_non_inferiority_margin() -> None:
    """Point estimates say "no worse"; the paired interval says "cannot tell" for the noisy one."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 3))
    y = (rng.random(3000) < 1 / (1 + np.exp(-X.sum(axis=1)))).astype(int)
    train, held = slice(0, 1500), slice(1500, None)

    def scores(columns: list[int], C: float = 1.0) -> np.ndarray:
        model = LogisticRegression(C=C).fit(X[train][:, columns], y[train])
        return model.predict_proba(X[held][:, columns])[:, 1]

    champion = scores([0, 2])
    # x0 and x1 carry the same weight: equal AUC in expectation, different rankings.
    noisy = scores([1, 2])
    quiet = scores([0, 2], C=0.5)  # the champion's features, barely another fit
    margin = 0.005
    noisy_result = paired_bootstrap(y[held], noisy, champion, "roc_auc", n=500)
    quiet_result = paired_bootstrap(y[held], quiet, champion, "roc_auc", n=500)

    assert noisy_result.difference > -margin  # a point-estimate gate would let it pass
    assert noisy_result.lower < -margin  # the lower bound of the interval does not
    assert quiet_result.lower > -margin
    assert noisy_result.upper - noisy_result.lower > 0.02
    assert quiet_result.upper - quiet_result.lower < 0.001


def test_a_resample_with_one_class_is_skipped_not_fatal() -> None:
    y = np.array([1] + [0] * 19)
    rng = np.random.default_rng(0)
    challenger, champion = rng.random(20), rng.random(20)
    result = paired_bootstrap(y, challenger, champion, "roc_auc", n=200)
    undefined = int(np.isnan(result.differences).sum())
    assert 0 < result.skipped == undefined < 200
    assert math.isfinite(result.lower) and math.isfinite(result.upper)


def test_labels_of_any_two_classes_and_predict_proba_columns() -> None:
    y = np.array(["no", "yes", "no", "yes", "yes", "no"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55], [0.7, 0.3]])
    result = paired_bootstrap(y, proba, proba[:, 1] * 0.5, "accuracy_score", n=10)
    assert result.challenger == 1.0
    assert result.champion == pytest.approx(accuracy_score(y == "yes", proba[:, 1] * 0.5 > 0.5))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "f1"}, "unknown metric 'f1' (known: roc_auc, accuracy_score, log_loss)"),
        ({"y": [1, 1, 1, 1]}, "the target must have exactly two classes, it has 1 (1)"),
        ({"challenger": [0.1, 0.2, 0.3]}, "the challenger scores have 3 rows, the target has 4"),
        ({"champion": [0.1, np.nan, 0.3, 0.4]}, "the champion scores have missing or infinite"),
        ({"n": 0}, "the number of bootstrap resamples must be a positive integer, got 0"),
        ({"confidence": 95}, "confidence must be between 0 and 1 (exclusive), got 95"),
    ],
)
def test_bad_bootstrap_input_is_one_clear_usage_error(
    change: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "y": [0, 1, 0, 1],
        "challenger": [0.1, 0.9, 0.2, 0.8],
        "champion": [0.3, 0.6, 0.4, 0.7],
        "metric": "roc_auc",
        "n": 10,
        "confidence": 0.95,
    }
    args.update(change)
    with pytest.raises(MlopsError) as error:
        paired_bootstrap(
            args["y"],
            args["challenger"],
            args["champion"],
            str(args["metric"]),
            n=args["n"],  # type: ignore[arg-type]
            confidence=args["confidence"],  # type: ignore[arg-type]
        )
    assert error.value.code is ErrorCode.USAGE
    assert message in str(error.value)


def test_psi_of_identical_distributions_is_about_zero_and_of_shifted_ones_large() -> None:
    rng = np.random.default_rng(1)
    reference = rng.beta(2, 5, 20_000)
    assert psi(reference, reference) == pytest.approx(0.0, abs=1e-12)
    assert psi(reference, rng.beta(2, 5, 20_000)) < 0.01
    shifted = np.clip(reference + 0.15, 0, 1)
    assert psi(reference, shifted) > 0.25
    # Every current value above the reference's top decile: empty bins stay finite.
    assert math.isfinite(psi(reference, np.full(100, 2.0)))


def test_psi_on_scores_of_a_real_model_train_vs_eval(
    scored: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    _, challenger, champion = scored
    assert psi(champion[:700], champion[700:]) < 0.10  # same model, same population
    assert psi(champion, challenger) > 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], [1.0]), "the reference values for PSI are empty"),
        (([1.0, np.nan], [1.0]), "the reference values for PSI have missing or infinite values"),
        (([1.0], [np.inf]), "the current values for PSI have missing or infinite values"),
    ],
)
def test_bad_psi_input(args: tuple[list[float], list[float]], message: str) -> None:
    with pytest.raises(MlopsError, match="^" + message.replace("(", r"\(")):
        psi(*args)
    with pytest.raises(MlopsError, match="at least 2 bins"):
        psi([1.0, 2.0], [1.0], bins=1)


def _biased_predictions() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    book = _loan_book(6000, seed=2)
    features = ["income", "debt_ratio", "history"]
    train, held = book.iloc[:3000], book.iloc[3000:].reset_index(drop=True)
    model = LogisticRegression().fit(train[features], train["default"])
    fair = model.predict_proba(held[features])[:, 1]
    # The deliberately biased model: renters' default scores pushed up by 0.25.
    biased = np.clip(fair + 0.25 * (held["home_owner"] == "rent").to_numpy(), 0, 1)
    return held, fair, biased


def test_a_deliberately_biased_model_fails_the_four_fifths_rule() -> None:
    held, fair, biased = _biased_predictions()
    y = held["default"].to_numpy()
    sensitive = held[["home_owner", "age_band"]]

    fair_result = group_metrics(y, fair > 0.5, sensitive, min_group_size=50)
    biased_result = group_metrics(y, biased > 0.5, sensitive, min_group_size=50)

    assert set(fair_result) == {"home_owner", "age_band"}
    assert fair_result["home_owner"].summary["demographic_parity_ratio"] >= 0.8
    assert biased_result["home_owner"].summary["demographic_parity_ratio"] < 0.8
    # age_band was not touched by the bias.
    assert biased_result["age_band"].summary["demographic_parity_ratio"] >= 0.8
    groups = biased_result["home_owner"].groups
    assert list(groups.columns) == [
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "count",
        "gated",
    ]
    assert groups["selection_rate"].idxmax() == "rent"
    assert groups["count"].sum() == len(held)
    assert set(biased_result["home_owner"].summary) == set(FAIRNESS_METRICS)


def test_summaries_agree_with_fairlearn_and_small_groups_are_not_gated() -> None:
    from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

    held, fair, _ = _biased_predictions()
    y = held["default"].to_numpy()
    predicted = (fair > 0.5).astype(int)
    owner = held["home_owner"].to_numpy().copy()
    owner[:10] = "other"  # a group of 10: reported, not gated
    predicted[:10] = 1
    result = group_metrics(y, predicted, pd.DataFrame({"owner": owner}), min_group_size=50)["owner"]
    assert result.not_gated == ["other"]
    assert result.groups.loc["other", "count"] == 10
    assert result.groups.loc["other", "selection_rate"] == 1.0
    big = owner != "other"
    expected = demographic_parity_ratio(y[big], predicted[big], sensitive_features=owner[big])
    assert result.summary["demographic_parity_ratio"] == pytest.approx(expected)
    expected = equalized_odds_difference(y[big], predicted[big], sensitive_features=owner[big])
    assert result.summary["equalized_odds_difference"] == pytest.approx(expected)


def test_fewer_than_two_gated_groups_leave_the_summary_undefined() -> None:
    y = np.array([0, 1] * 30)
    frame = pd.DataFrame({"g": ["a"] * 55 + ["b"] * 5})
    result = group_metrics(y, y, frame, min_group_size=50)["g"]
    assert all(math.isnan(v) for v in result.summary.values())
    assert result.not_gated == ["b"]


def test_bad_fairness_input_is_one_clear_usage_error() -> None:
    frame = pd.DataFrame({"home_owner": ["own", "rent"] * 3})
    y, pred = [0, 1, 0, 1, 0, 1], [0, 1, 1, 1, 0, 0]
    with pytest.raises(MlopsError) as error:
        group_metrics(y, pred, frame, min_group_size=1, attributes=["home_owner", "age_band"])
    assert error.value.code is ErrorCode.USAGE
    assert (
        str(error.value) == "sensitive column 'age_band' is not in the data (columns: home_owner)"
    )
    with pytest.raises(MlopsError, match="exactly two classes, it has 1"):
        group_metrics([1] * 6, pred, frame, min_group_size=1)
    with pytest.raises(MlopsError, match="the sensitive features have 5 rows, the target has 6"):
        group_metrics(y, pred, frame.iloc[:5], min_group_size=1)
    with pytest.raises(MlopsError, match="the predictions must be 0/1 labels, booleans or"):
        group_metrics(y, ["no"] * 6, frame, min_group_size=1)


def test_slice_spread_per_region_matches_sklearn() -> None:
    held, fair, _ = _biased_predictions()
    y = held["default"].to_numpy()
    result = slice_spread(y, fair, held["region"], "roc_auc")
    for region, value in result.per_slice.items():
        mask = (held["region"] == region).to_numpy()
        assert value == pytest.approx(roc_auc_score(y[mask], fair[mask]), abs=1e-12)
        assert result.counts[region] == mask.sum()
    values = list(result.per_slice.values())
    assert result.spread == pytest.approx(max(values) - min(values))
    assert set(result.per_slice) == {"north", "south", "east", "west"}


def test_a_slice_with_one_class_has_no_auc_and_is_left_out_of_the_spread() -> None:
    y = np.array([0, 1, 0, 1, 1, 1])
    scores = np.array([0.1, 0.9, 0.8, 0.2, 0.5, 0.6])
    result = slice_spread(y, scores, ["a", "a", "b", "b", "c", "c"], "roc_auc")
    assert math.isnan(result.per_slice["c"])
    assert result.spread == pytest.approx(1.0)
