"""Validate a challenger version against the champion on the same rows, under a policy.

Both models score the same evaluation rows. Absolute gates compare the challenger's value with
the policy's bounds; relative gates ("no worse than the champion by more than a margin") use the
lower end of the paired bootstrap interval of (challenger - champion), not two point estimates.
Fairness gates use the group metrics of the challenger's predictions; stability gates the PSI of
its scores against the champion's on the same rows, and the spread of a metric across slices.

The result is a :class:`Decision`;
:func:`~jupyter_mlops.core.gates.record.record_decision` writes it as the decision record (a
validation run with ``validation/decision.json`` and ``validation/report.html``, then the
version's ``mlops.validation.*`` tags, last, so a tag never exists without its record).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.fingerprint import fingerprint
from jupyter_mlops.core.capture.identity import current_user
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.gates.policy import Policy
from jupyter_mlops.core.gates.statistics import (
    METRICS as BOOTSTRAP_METRICS,
)
from jupyter_mlops.core.gates.statistics import (
    BootstrapResult,
    group_metrics,
    paired_bootstrap,
    psi,
    slice_spread,
)
from jupyter_mlops.core.registry.refs import ModelRef, resolve
from jupyter_mlops.core.store.causes import mlflow_error

__all__ = ["DECISION_SCHEMA", "Decision", "GateResult", "validate"]

DECISION_SCHEMA = "jupyter-mlops/decision/1"
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
#: What a decision says overall: every gate measured passed / one failed / nothing was gated.
STATUSES = (PASSED, FAILED, "ungated")

Scorer = Callable[[pd.DataFrame], np.ndarray[Any, Any]]


@dataclass(frozen=True)
class GateResult:
    """One gate: what was measured, against what, and the verdict."""

    gate: str  # the policy key, e.g. "metrics.roc_auc.max_drop_vs_champion"
    verdict: str  # passed | failed | skipped
    value: float | None = None
    threshold: float | None = None
    champion: float | None = None
    interval: tuple[float, float] | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "verdict": self.verdict,
            "value": _finite(self.value),
            "threshold": self.threshold,
            "champion": _finite(self.champion),
            "interval": None if self.interval is None else [_finite(v) for v in self.interval],
            "note": self.note,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of one validation, ready to be recorded and shown."""

    model: str
    version: str
    against: str  # the alias compared with
    champion_version: str | None  # the version it pointed to (None: no champion yet)
    gates: tuple[GateResult, ...]
    policy: dict[str, Any]
    data: dict[str, Any]  # fingerprint, rows, columns, target of the evaluation set
    actor: str
    time: str
    bootstrap: dict[str, BootstrapResult] = field(default_factory=dict, compare=False)
    groups: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    scores: dict[str, list[float]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def status(self) -> str:
        """``failed`` when any gate failed, ``passed`` when at least one passed and none
        failed, ``ungated`` when nothing was measured (never a silent pass)."""
        verdicts = {g.verdict for g in self.gates}
        if FAILED in verdicts:
            return FAILED
        return PASSED if PASSED in verdicts else "ungated"

    @property
    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if g.verdict == FAILED]

    def to_dict(self) -> dict[str, Any]:
        """``validation/decision.json`` (schema :data:`DECISION_SCHEMA`)."""
        return {
            "schema": DECISION_SCHEMA,
            "status": self.status,
            "model": self.model,
            "version": self.version,
            "against": self.against,
            "champion_version": self.champion_version,
            "actor": self.actor,
            "time": self.time,
            "data": self.data,
            "policy": self.policy,
            "gates": [g.to_dict() for g in self.gates],
            "groups": self.groups,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def to_text(self) -> str:
        """The gate table for a terminal."""
        lines = [
            f"{self.model} version {self.version} against {self.against}"
            + (
                f" (version {self.champion_version})"
                if self.champion_version
                else " (no champion yet)"
            )
            + f": {self.status.upper()}"
        ]
        if not self.gates:
            lines.append("nothing was gated: give a policy (pyproject.toml or --policy) or --gate")
        width = max((len(g.gate) for g in self.gates), default=4)
        for gate in self.gates:
            measured = "" if gate.value is None else f"{gate.value:.4f}"
            limit = "" if gate.threshold is None else f"limit {gate.threshold:g}"
            interval = (
                ""
                if gate.interval is None
                else f"interval [{gate.interval[0]:+.4f}, {gate.interval[1]:+.4f}]"
            )
            extra = "  ".join(part for part in (measured, limit, interval, gate.note) if part)
            lines.append(f"  {gate.verdict.upper():7} {gate.gate:{width}}  {extra}".rstrip())
        return "\n".join(lines)


def validate(
    client: MlflowClient,
    challenger: ModelRef,
    data: pd.DataFrame,
    target: str,
    policy: Policy,
    *,
    against: str = "champion",
    load: Callable[[str], Any],
    now: Callable[[], datetime] | None = None,
) -> Decision:
    """Score challenger and champion on ``data`` and apply every gate of ``policy``.

    ``load`` turns a model URI (``models:/NAME/VERSION``) into a fitted model (the caller
    chooses how MLflow loads it). Nothing is written here: see :func:`record_decision`.

    Raises:
        MlopsError: USAGE for a missing target or feature column, a target with one class or
            a sensitive column missing from the data; NOT_FOUND for an unknown model or
            version; TRACKING_UNAVAILABLE when a model cannot be loaded.
    """
    _, version = resolve(client, challenger)
    name, number = version.name, str(version.version)
    if target not in data.columns:
        raise MlopsError(
            f"target column {target!r} is not in the data (columns: {', '.join(data.columns)})",
            ErrorCode.USAGE,
        )
    y = data[target].to_numpy()
    if len(pd.unique(y)) != 2:
        raise MlopsError(
            f"the target {target!r} must have exactly two classes, found {len(pd.unique(y))}",
            ErrorCode.USAGE,
        )
    champion = _champion(client, name, against, number)
    score = _scorer(load, f"models:/{name}/{number}", f"challenger {name}/{number}", data, target)
    challenger_scores = score()
    champion_scores = None
    if champion is not None:
        champion_scores = _scorer(
            load,
            f"models:/{name}/{champion.version}",
            f"champion {name}/{champion.version}",
            data,
            target,
        )()
    gates: list[GateResult] = []
    bootstrap: dict[str, BootstrapResult] = {}
    gates += _metric_gates(policy, y, challenger_scores, champion_scores, bootstrap)
    groups, fairness = _fairness_gates(policy, data, y, challenger_scores)
    gates += fairness
    gates += _stability_gates(policy, data, y, challenger_scores, champion_scores)
    when = (now or (lambda: datetime.now(timezone.utc)))()
    return Decision(
        model=name,
        version=number,
        against=against,
        champion_version=None if champion is None else str(champion.version),
        gates=tuple(gates),
        policy=policy.to_dict(),
        data={
            "fingerprint": fingerprint(data),
            "rows": len(data),
            "columns": len(data.columns),
            "target": target,
        },
        actor=current_user(for_ledger=True),
        time=when.isoformat(timespec="seconds"),
        bootstrap=bootstrap,
        groups=groups,
        scores={
            "challenger": challenger_scores.tolist(),
            **({} if champion_scores is None else {"champion": champion_scores.tolist()}),
        },
    )


def decision_digest(text: str) -> str:
    """The sha256 stored on the version as ``mlops.validation.sha256``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------


def _champion(client: MlflowClient, name: str, alias: str, challenger: str) -> ModelVersion | None:
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise mlflow_error(exc, f"cannot read alias {alias!r} of {name!r}") from None
    return None if str(version.version) == challenger else version


def _scorer(
    load: Callable[[str], Any], uri: str, what: str, data: pd.DataFrame, target: str
) -> Callable[[], np.ndarray[Any, Any]]:
    try:
        model = load(uri)
    except MlopsError:
        raise
    except Exception as exc:  # a broken artifact, a missing flavor, an unpicklable object
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MlopsError(
            f"cannot load the {what} ({uri}): {first}", ErrorCode.TRACKING_UNAVAILABLE
        ) from None
    features = [str(c) for c in getattr(model, "feature_names_in_", [])] or [
        c for c in data.columns if c != target
    ]
    missing = [c for c in features if c not in data.columns]
    if missing:
        raise MlopsError(
            f"the data lacks column(s) the {what} was trained on: {', '.join(missing)}",
            ErrorCode.USAGE,
        )
    if not hasattr(model, "predict_proba"):
        raise MlopsError(
            f"the {what} has no predict_proba (a classifier is needed)", ErrorCode.USAGE
        )

    def score() -> np.ndarray[Any, Any]:
        probabilities = np.asarray(model.predict_proba(data[features]))
        return np.asarray(probabilities[:, -1], dtype=np.float64)

    return score


def _point(metric: str, y: Any, scores: np.ndarray[Any, Any]) -> float:
    from sklearn import metrics as sk

    labels = (scores >= 0.5).astype(int)
    positive = (y == np.unique(y)[-1]).astype(int)
    if metric == "roc_auc":
        return float(sk.roc_auc_score(positive, scores))
    if metric == "log_loss":
        return float(sk.log_loss(positive, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1]))
    score: Callable[..., float] = getattr(sk, metric)
    extra = {} if metric == "accuracy_score" else {"zero_division": 0}
    return float(score(positive, labels, **extra))


def _metric_gates(
    policy: Policy,
    y: Any,
    challenger: np.ndarray[Any, Any],
    champion: np.ndarray[Any, Any] | None,
    bootstrap: dict[str, BootstrapResult],
) -> list[GateResult]:
    results: list[GateResult] = []
    for gate in policy.metrics:
        value = _point(gate.name, y, challenger)
        base = f"metrics.{gate.name}"
        if gate.min is not None:
            ok = value >= gate.min
            results.append(GateResult(f"{base}.min", _verdict(ok), value, gate.min))
        if gate.max is not None:
            ok = value <= gate.max
            results.append(GateResult(f"{base}.max", _verdict(ok), value, gate.max))
        if gate.max_drop_vs_champion is None:
            continue
        key, margin = f"{base}.max_drop_vs_champion", gate.max_drop_vs_champion
        if champion is None:
            results.append(GateResult(key, SKIPPED, value, margin, note="no champion yet"))
            continue
        if gate.name not in BOOTSTRAP_METRICS:
            results.append(
                GateResult(
                    key,
                    SKIPPED,
                    value,
                    margin,
                    note=f"no paired bootstrap for {gate.name} (known: "
                    + ", ".join(BOOTSTRAP_METRICS)
                    + ")",
                )
            )
            continue
        result = paired_bootstrap(
            y, challenger, champion, gate.name, n=policy.bootstrap, confidence=policy.confidence
        )
        bootstrap[gate.name] = result
        if gate.higher_is_better:  # the worst plausible drop must stay within the margin
            ok, measured = result.lower >= -margin, result.lower
        else:  # lower is better (log_loss): the worst plausible rise
            ok, measured = result.upper <= margin, result.upper
        results.append(
            GateResult(
                key,
                _verdict(ok),
                measured,
                margin,
                champion=result.champion,
                interval=(result.lower, result.upper),
                note=f"{result.challenger:.4f} vs {result.champion:.4f}, "
                f"{policy.confidence:.0%} paired bootstrap, {result.resamples} resamples",
            )
        )
    return results


def _fairness_gates(
    policy: Policy, data: pd.DataFrame, y: Any, scores: np.ndarray[Any, Any]
) -> tuple[dict[str, dict[str, dict[str, float]]], list[GateResult]]:
    fairness = policy.fairness
    if not fairness.sensitive or not fairness.gates:
        return {}, []
    missing = [c for c in fairness.sensitive if c not in data.columns]
    if missing:
        raise MlopsError(
            f"sensitive column {missing[0]!r} is not in the data "
            f"(columns: {', '.join(map(str, data.columns))})",
            ErrorCode.USAGE,
        )
    labels = (scores >= 0.5).astype(int)
    measured = group_metrics(
        y, labels, data[list(fairness.sensitive)], min_group_size=fairness.min_group_size
    )
    groups = {
        attribute: {
            str(group): {k: float(v) for k, v in row.items() if k != "gated"}
            | {"gated": float(bool(row["gated"]))}
            for group, row in result.groups.to_dict(orient="index").items()
        }
        for attribute, result in measured.items()
    }
    results: list[GateResult] = []
    for gate in fairness.gates:
        for attribute, result in measured.items():
            key = f"fairness.{gate.name}[{attribute}]"
            value = result.summary.get(gate.name)
            small = ", ".join(map(str, result.not_gated))
            note = (
                f"groups under {fairness.min_group_size} rows not gated: {small}" if small else ""
            )
            if value is None or math.isnan(value):
                why = f"{gate.name} is not measured" if value is None else "fewer than two groups"
                results.append(GateResult(key, SKIPPED, None, gate.min or gate.max, note=why))
                continue
            ok = (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)
            threshold = gate.min if gate.min is not None else gate.max
            results.append(GateResult(key, _verdict(ok), value, threshold, note=note))
    return groups, results


def _stability_gates(
    policy: Policy,
    data: pd.DataFrame,
    y: Any,
    challenger: np.ndarray[Any, Any],
    champion: np.ndarray[Any, Any] | None,
) -> list[GateResult]:
    results: list[GateResult] = []
    for gate in policy.stability.gates:
        key = f"stability.{gate.name}"
        if gate.name == "score_psi_vs_champion":
            if champion is None:
                results.append(GateResult(key, SKIPPED, None, gate.max, note="no champion yet"))
                continue
            value = psi(champion, challenger)
            results.append(GateResult(key, _verdict(value <= gate.max), value, gate.max))
        else:  # score_psi_train_vs_eval needs the training scores, not recorded yet
            results.append(
                GateResult(
                    key,
                    SKIPPED,
                    None,
                    gate.max,
                    note="needs the training score distribution (reference profile 2)",
                )
            )
    chosen = policy.stability.slice
    if chosen is not None:
        key = f"stability.slice[{chosen.column}].{chosen.metric}"
        if chosen.column not in data.columns:
            raise MlopsError(f"slice column {chosen.column!r} is not in the data", ErrorCode.USAGE)
        spread = slice_spread(y, challenger, data[chosen.column].to_numpy(), chosen.metric)
        if math.isnan(spread.spread):
            results.append(
                GateResult(key, SKIPPED, None, chosen.max_metric_spread, note="one slice")
            )
        else:
            ok = spread.spread <= chosen.max_metric_spread
            results.append(GateResult(key, _verdict(ok), spread.spread, chosen.max_metric_spread))
    return results


def _verdict(ok: bool) -> str:
    return PASSED if ok else FAILED


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
