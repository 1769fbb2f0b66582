"""The validation policy of a model: which gates a challenger must pass, read and checked.

A policy comes from ``[tool.jupyter-mlops.models.<MODEL>]`` in the nearest ``pyproject.toml``,
or from a YAML file (``--policy FILE``) with the same schema, plus gates given on the command
line (``--gate "roc_auc>=champion-0.005"``), which override the same key. The schema is
documented in ``docs/validation.md`` ("Policy reference"). Every bad input is refused with one
:class:`~jupyter_mlops.core.errors.MlopsError` (USAGE) line naming the key by its dotted path.

>>> policy = policy_from_mapping(
...     "credit-risk",
...     {"gates": {"metrics": {"roc_auc": {"min": 0.7, "max_drop_vs_champion": 0.005}}}},
... )
>>> policy.metrics[0]
MetricGate(name='roc_auc', min=0.7, max=None, max_drop_vs_champion=0.005)
>>> policy.is_empty
False
>>> policy_from_mapping("credit-risk", {}).is_empty
True
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from jupyter_mlops.core.errors import ErrorCode, MlopsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MIN_GROUP_SIZE",
    "DEFAULT_SLICE_METRIC",
    "FAIRNESS_METRICS",
    "METRICS",
    "STABILITY_GATES",
    "FairnessGate",
    "FairnessPolicy",
    "GateSpec",
    "MetricGate",
    "MetricInfo",
    "Policy",
    "SliceGate",
    "StabilityGate",
    "StabilityPolicy",
    "apply_gates",
    "load_policy",
    "parse_gate",
    "policy_from_mapping",
]

DEFAULT_CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP = 1000
MIN_BOOTSTRAP = 100
MAX_BOOTSTRAP = 1_000_000
DEFAULT_MIN_GROUP_SIZE = 50
DEFAULT_SLICE_METRIC = "roc_auc"
_TABLE = "tool.jupyter-mlops.models"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class MetricInfo:
    """What a gated metric is: which way is better and the range its values can take."""

    higher_is_better: bool
    low: float = 0.0
    high: float = 1.0


_UNBOUNDED = math.inf
#: Metrics a policy may gate, named as ``mlflow.models.evaluate`` names them.
METRICS: Mapping[str, MetricInfo] = {
    # classifiers
    "roc_auc": MetricInfo(True),
    "precision_recall_auc": MetricInfo(True),
    "accuracy_score": MetricInfo(True),
    "precision_score": MetricInfo(True),
    "recall_score": MetricInfo(True),
    "f1_score": MetricInfo(True),
    "log_loss": MetricInfo(False, 0.0, _UNBOUNDED),
    # regressors
    "r2_score": MetricInfo(True, -_UNBOUNDED, 1.0),
    "mean_absolute_error": MetricInfo(False, 0.0, _UNBOUNDED),
    "mean_squared_error": MetricInfo(False, 0.0, _UNBOUNDED),
    "root_mean_squared_error": MetricInfo(False, 0.0, _UNBOUNDED),
    "max_error": MetricInfo(False, 0.0, _UNBOUNDED),
    "mean_absolute_percentage_error": MetricInfo(False, 0.0, _UNBOUNDED),
}
#: Group metrics a policy may gate, named as ``fairlearn.metrics`` names them (all in [0, 1]).
FAIRNESS_METRICS: Mapping[str, MetricInfo] = {
    "demographic_parity_ratio": MetricInfo(True),
    "demographic_parity_difference": MetricInfo(False),
    "equalized_odds_ratio": MetricInfo(True),
    "equalized_odds_difference": MetricInfo(False),
    "equal_opportunity_ratio": MetricInfo(True),
    "equal_opportunity_difference": MetricInfo(False),
}
#: Stability gates on score distributions (population stability index), each with a ``max``.
STABILITY_GATES = ("score_psi_vs_champion", "score_psi_train_vs_eval")


@dataclass(frozen=True)
class MetricGate:
    """Thresholds on one evaluation metric of the challenger.

    ``max_drop_vs_champion`` is how much worse than the champion the challenger may be (a drop
    for metrics where higher is better, a rise for those where lower is better, e.g.
    ``log_loss``), judged on the bound of the paired bootstrap interval of the difference.
    """

    name: str
    min: float | None = None
    max: float | None = None
    max_drop_vs_champion: float | None = None

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger value of this metric is better."""
        return METRICS[self.name].higher_is_better

    def to_dict(self) -> dict[str, float]:
        """The set thresholds, in schema order."""
        return _bounds(
            ("min", self.min),
            ("max", self.max),
            ("max_drop_vs_champion", self.max_drop_vs_champion),
        )


@dataclass(frozen=True)
class FairnessGate:
    """Bounds on one fairlearn group metric, computed over each sensitive column."""

    name: str
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, float]:
        """The set bounds, in schema order."""
        return _bounds(("min", self.min), ("max", self.max))


@dataclass(frozen=True)
class FairnessPolicy:
    """The ``gates.fairness`` table: sensitive columns, smallest gated group, the gates."""

    sensitive: tuple[str, ...] = ()
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    gates: tuple[FairnessGate, ...] = ()


@dataclass(frozen=True)
class StabilityGate:
    """An upper bound on a population stability index of scores."""

    name: str
    max: float


@dataclass(frozen=True)
class SliceGate:
    """The largest allowed spread (max - min) of ``metric`` across the values of ``column``."""

    column: str
    max_metric_spread: float
    metric: str = DEFAULT_SLICE_METRIC


@dataclass(frozen=True)
class StabilityPolicy:
    """The ``gates.stability`` table."""

    gates: tuple[StabilityGate, ...] = ()
    slice: SliceGate | None = None


@dataclass(frozen=True)
class Policy:
    """Everything a validation of ``model`` checks, and where it was configured.

    ``sources`` names where the policy came from (a ``pyproject.toml``, a policy file,
    ``--gate ...``); empty when nothing was configured.
    """

    model: str
    sources: tuple[str, ...] = ()
    protected_aliases: tuple[str, ...] = ()
    metrics: tuple[MetricGate, ...] = ()
    confidence: float = DEFAULT_CONFIDENCE
    bootstrap: int = DEFAULT_BOOTSTRAP
    fairness: FairnessPolicy = field(default_factory=FairnessPolicy)
    stability: StabilityPolicy = field(default_factory=StabilityPolicy)

    @property
    def is_empty(self) -> bool:
        """True when no gate is set (protected aliases alone gate nothing).

        >>> Policy("m", protected_aliases=("champion",)).is_empty
        True
        """
        return not (
            self.metrics or self.fairness.gates or self.stability.gates or self.stability.slice
        )

    def metric(self, name: str) -> MetricGate | None:
        """The gate on metric ``name``, if any."""
        return next((gate for gate in self.metrics if gate.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy in schema order (user-named keys sorted), for the decision record.

        Its ``protected_aliases`` and ``gates`` read back into the same policy with
        :func:`policy_from_mapping`.

        >>> import json
        >>> print(json.dumps(Policy("m", metrics=(MetricGate("roc_auc", min=0.7),)).to_dict()))
        ... # doctest: +NORMALIZE_WHITESPACE
        {"model": "m", "sources": [], "protected_aliases": [],
         "gates": {"metrics": {"roc_auc": {"min": 0.7}}, "confidence": 0.95, "bootstrap": 1000,
         "fairness": {"sensitive": [], "min_group_size": 50},
         "stability": {}}}
        """
        fairness: dict[str, Any] = {
            "sensitive": list(self.fairness.sensitive),
            "min_group_size": self.fairness.min_group_size,
        }
        for fair in sorted(self.fairness.gates, key=lambda gate: gate.name):
            fairness[fair.name] = fair.to_dict()
        stability: dict[str, Any] = {
            gate.name: {"max": gate.max}
            for gate in sorted(
                self.stability.gates, key=lambda gate: STABILITY_GATES.index(gate.name)
            )
        }
        if self.stability.slice is not None:
            stability["slice"] = {
                "column": self.stability.slice.column,
                "max_metric_spread": self.stability.slice.max_metric_spread,
                "metric": self.stability.slice.metric,
            }
        return {
            "model": self.model,
            "sources": list(self.sources),
            "protected_aliases": list(self.protected_aliases),
            "gates": {
                "metrics": {
                    gate.name: gate.to_dict()
                    for gate in sorted(self.metrics, key=lambda gate: gate.name)
                },
                "confidence": self.confidence,
                "bootstrap": self.bootstrap,
                "fairness": fairness,
                "stability": stability,
            },
        }


def _bounds(*pairs: tuple[str, float | None]) -> dict[str, float]:
    return {key: value for key, value in pairs if value is not None}


# --------------------------------------------------------------------------- reading a table


def _fail(path: str, message: str, where: str | None = None) -> MlopsError:
    suffix = f" (in {where})" if where else ""
    return MlopsError(f"{path}: {message}{suffix}", ErrorCode.USAGE)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    choices = sorted(known)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close and len(name) >= 2:  # a short form: f1 -> f1_score, auc -> roc_auc
        close = [choice for choice in choices if name.lower() in choice][:3]
    if close:
        return f"did you mean {' or '.join(repr(choice) for choice in close)}?"
    return "known: " + ", ".join(choices)


class _Reader:
    """Checks one policy table, naming bad keys by their dotted path (and the file)."""

    def __init__(self, where: str | None) -> None:
        self.where = where

    def fail(self, path: str, message: str) -> MlopsError:
        return _fail(path, message, self.where)

    def table(
        self, value: object, path: str, known: Iterable[str], what: str = "key"
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path or "(top level)", f"must be a table (mapping), got {_kind(value)}")
        allowed = tuple(known)
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, got {key!r}")
            if key not in allowed:
                raise self.fail(_at(path, key), f"unknown {what}; {_did_you_mean(key, allowed)}")
        return dict(value)

    def number(self, value: object, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"must be a number, got {_kind(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(path, f"must be a finite number, got {value!r}")
        return number

    def integer(self, value: object, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be a whole number, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(path, f"must be from {low} to {high}, got {value}")
        return value

    def names(self, value: object, path: str) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise self.fail(path, f"must be a list of names, got {_kind(value)}")
        names: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{path}[{index}]", f"must be a non-empty string, got {item!r}")
            if item.strip() in names:
                raise self.fail(f"{path}[{index}]", f"{item!r} is listed twice")
            names.append(item.strip())
        return tuple(names)

    def in_range(self, value: float, path: str, info: MetricInfo) -> float:
        if not info.low <= value <= info.high:
            raise self.fail(path, f"must be from {info.low:g} to {info.high:g}, got {value:g}")
        return value

    def min_max(self, path: str, low: float | None, high: float | None) -> None:
        if low is not None and high is not None and low > high:
            raise self.fail(path, f"min {low:g} is above max {high:g}")


def _at(path: str, key: str) -> str:
    return f"{path}.{_key(key)}" if path else _key(key)


def _key(name: str) -> str:
    """A key as TOML writes it in a dotted path: bare when it can be, else quoted."""
    return name if name and _BARE_KEY.fullmatch(name) else json.dumps(name)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{type(value).__name__} ({value!r})"


_MODEL_KEYS = ("protected_aliases", "gates")
_GATE_KEYS = ("metrics", "confidence", "bootstrap", "fairness", "stability")
_FAIRNESS_KEYS = ("sensitive", "min_group_size", *FAIRNESS_METRICS)
_STABILITY_KEYS = (*STABILITY_GATES, "slice")


def policy_from_mapping(
    model: str,
    table: Mapping[str, Any],
    *,
    path: str | None = None,
    where: str | None = None,
) -> Policy:
    """Check one model's policy table (``protected_aliases`` and ``gates``) into a Policy.

    Args:
        model: the registered model's name.
        table: the parsed table (from TOML or YAML).
        path: its dotted path, used in errors (default ``tool.jupyter-mlops.models.<model>``).
        where: the file it came from, named in errors and in ``Policy.sources``.

    Raises:
        MlopsError: (USAGE) naming the first bad key by its dotted path.
    """
    read = _Reader(where)
    path = f"{_TABLE}.{_key(model)}" if path is None else path
    top = read.table(table, path, _MODEL_KEYS)
    protected = read.names(top.get("protected_aliases", []), _at(path, "protected_aliases"))
    gates_path = _at(path, "gates")
    gates = read.table(top.get("gates", {}), gates_path, _GATE_KEYS)

    metrics_path = f"{gates_path}.metrics"
    metrics: list[MetricGate] = []
    for name, value in read.table(
        gates.get("metrics", {}), metrics_path, METRICS, "metric"
    ).items():
        metrics.append(_metric_gate(read, name, value, f"{metrics_path}.{name}"))

    confidence = DEFAULT_CONFIDENCE
    if "confidence" in gates:
        confidence = read.number(gates["confidence"], f"{gates_path}.confidence")
        if not 0 < confidence < 1:
            raise read.fail(
                f"{gates_path}.confidence", f"must be above 0 and below 1, got {confidence:g}"
            )
    bootstrap = DEFAULT_BOOTSTRAP
    if "bootstrap" in gates:
        bootstrap = read.integer(
            gates["bootstrap"], f"{gates_path}.bootstrap", MIN_BOOTSTRAP, MAX_BOOTSTRAP
        )

    fair_path = f"{gates_path}.fairness"
    fair = read.table(gates.get("fairness", {}), fair_path, _FAIRNESS_KEYS, "fairness key")
    sensitive = read.names(fair.pop("sensitive", []), f"{fair_path}.sensitive")
    min_group = DEFAULT_MIN_GROUP_SIZE
    if "min_group_size" in fair:
        min_group = read.integer(
            fair.pop("min_group_size"), f"{fair_path}.min_group_size", 1, 10**9
        )
    fair_gates = tuple(
        _fairness_gate(read, name, value, f"{fair_path}.{name}") for name, value in fair.items()
    )

    stab_path = f"{gates_path}.stability"
    stab = read.table(gates.get("stability", {}), stab_path, _STABILITY_KEYS, "stability key")
    slice_gate = None
    if "slice" in stab:
        slice_gate = _slice_gate(read, stab.pop("slice"), f"{stab_path}.slice")
    stab_gates = []
    for name, value in stab.items():
        bounds = read.table(value, f"{stab_path}.{name}", ("max",))
        if "max" not in bounds:
            raise read.fail(f"{stab_path}.{name}", "needs a max, e.g. { max = 0.25 }")
        stab_gates.append(StabilityGate(name, _psi(read, bounds["max"], f"{stab_path}.{name}.max")))

    return Policy(
        model=model,
        sources=(where,) if where else (),
        protected_aliases=protected,
        metrics=tuple(metrics),
        confidence=confidence,
        bootstrap=bootstrap,
        fairness=FairnessPolicy(sensitive, min_group, fair_gates),
        stability=StabilityPolicy(tuple(stab_gates), slice_gate),
    )


def _metric_gate(read: _Reader, name: str, value: object, path: str) -> MetricGate:
    info = METRICS[name]
    bounds = read.table(value, path, ("min", "max", "max_drop_vs_champion"))
    if not bounds:
        raise read.fail(path, "sets no threshold; give min, max or max_drop_vs_champion")
    low = high = drop = None
    if "min" in bounds:
        low = read.in_range(read.number(bounds["min"], f"{path}.min"), f"{path}.min", info)
    if "max" in bounds:
        high = read.in_range(read.number(bounds["max"], f"{path}.max"), f"{path}.max", info)
    if "max_drop_vs_champion" in bounds:
        drop = _margin(read, bounds["max_drop_vs_champion"], f"{path}.max_drop_vs_champion")
    read.min_max(path, low, high)
    return MetricGate(name, low, high, drop)


def _margin(read: _Reader, value: object, path: str) -> float:
    margin = read.number(value, path)
    if margin < 0:
        raise read.fail(path, f"must be 0 or more (how much worse may be), got {margin:g}")
    return margin


def _psi(read: _Reader, value: object, path: str) -> float:
    psi = read.number(value, path)
    if psi < 0:
        raise read.fail(path, f"must be 0 or more, got {psi:g}")
    return psi


def _fairness_gate(read: _Reader, name: str, value: object, path: str) -> FairnessGate:
    info = FAIRNESS_METRICS[name]
    bounds = read.table(value, path, ("min", "max"))
    if not bounds:
        raise read.fail(path, "sets no bound; give min or max")
    low = high = None
    if "min" in bounds:
        low = read.in_range(read.number(bounds["min"], f"{path}.min"), f"{path}.min", info)
    if "max" in bounds:
        high = read.in_range(read.number(bounds["max"], f"{path}.max"), f"{path}.max", info)
    read.min_max(path, low, high)
    return FairnessGate(name, low, high)


def _slice_gate(read: _Reader, value: object, path: str) -> SliceGate:
    table = read.table(value, path, ("column", "max_metric_spread", "metric"))
    for required in ("column", "max_metric_spread"):
        if required not in table:
            raise read.fail(
                path, f'needs {required}, e.g. {{ column = "region", max_metric_spread = 0.05 }}'
            )
    column = table["column"]
    if not isinstance(column, str) or not column.strip():
        raise read.fail(f"{path}.column", f"must be a column name, got {_kind(column)}")
    spread = _margin(read, table["max_metric_spread"], f"{path}.max_metric_spread")
    metric = table.get("metric", DEFAULT_SLICE_METRIC)
    if not isinstance(metric, str):
        raise read.fail(f"{path}.metric", f"must be a metric name, got {_kind(metric)}")
    if metric not in METRICS:
        raise read.fail(f"{path}.metric", f"unknown metric; {_did_you_mean(metric, METRICS)}")
    return SliceGate(column.strip(), spread, metric)


# ------------------------------------------------------------------------------- files


def _nearest_pyproject(start: Path) -> Path | None:
    """The ``pyproject.toml`` that :func:`jupyter_mlops.core.config.read_project_config` reads."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _from_pyproject(model: str, start: Path) -> Policy | None:
    path = _nearest_pyproject(start)
    if path is None:
        return None
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MlopsError(f"cannot read {path}: {exc}", ErrorCode.USAGE) from exc
    tool: Any = document.get("tool", {})
    config: Any = tool.get("jupyter-mlops", {}) if isinstance(tool, dict) else {}
    if not isinstance(config, dict) or "models" not in config:
        return None
    models = config["models"]
    if not isinstance(models, dict):
        raise _fail(_TABLE, f"must be a table of models, got {_kind(models)}", str(path))
    if model not in models:
        return None
    return policy_from_mapping(model, models[model], where=str(path))


def _from_file(model: str, file: Path) -> Policy:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MlopsError(f"--policy {file}: no such file", ErrorCode.USAGE) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MlopsError(f"--policy {file}: cannot read it: {exc}", ErrorCode.USAGE) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise MlopsError(f"--policy {file}: not valid YAML: {detail}", ErrorCode.USAGE) from exc
    where = str(file)
    if not isinstance(document, Mapping):
        raise MlopsError(
            f"--policy {file}: must hold a mapping (protected_aliases, gates, or models), "
            f"got {_kind(document)}",
            ErrorCode.USAGE,
        )
    if "models" not in document:
        return policy_from_mapping(model, document, path="", where=where)
    extra = sorted(str(key) for key in document if key != "models")
    if extra:
        raise _fail(
            extra[0], "a policy file with models: holds nothing else at the top level", where
        )
    models = document["models"]
    if not isinstance(models, Mapping):
        raise _fail("models", f"must be a mapping of model names, got {_kind(models)}", where)
    if model not in models:
        known = ", ".join(sorted(str(name) for name in models)) or "none"
        raise _fail("models", f"has no model {model!r} (it has: {known})", where)
    return policy_from_mapping(model, models[model], path=f"models.{_key(model)}", where=where)


# ---------------------------------------------------------------------- command-line gates


@dataclass(frozen=True)
class GateSpec:
    """One ``--gate`` parsed: which key of which gate it sets, to what.

    >>> spec = parse_gate("roc_auc>=champion-0.005")
    >>> spec.dotted, spec.value
    ('gates.metrics.roc_auc.max_drop_vs_champion', 0.005)
    >>> parse_gate("log_loss <= 0.45").key
    'max'
    """

    section: Literal["metrics", "fairness", "stability"]
    name: str
    key: Literal["min", "max", "max_drop_vs_champion"]
    value: float
    text: str

    @property
    def dotted(self) -> str:
        """The policy key it sets, e.g. ``gates.metrics.roc_auc.min``."""
        return f"gates.{self.section}.{self.name}.{self.key}"


def parse_gate(text: str) -> GateSpec:
    """Parse one command-line gate: ``NAME>=VALUE``, ``NAME<=VALUE`` or ``NAME>=champion-D``.

    ``NAME`` is a metric (``roc_auc``), a fairness metric (``demographic_parity_ratio``) or a
    stability gate (``score_psi_vs_champion``). ``champion-D`` (``champion+D`` for metrics
    where lower is better) sets ``max_drop_vs_champion = D``; ``champion`` alone means D = 0.

    Raises:
        MlopsError: (USAGE) for anything else, naming the gate as written.
    """
    label = f"--gate {text!r}"
    source = text.strip()
    op = next((candidate for candidate in (">=", "<=") if candidate in source), None)
    if op is None:
        hint = " (use >= or <=)" if any(c in source for c in "<>=") else ""
        raise MlopsError(
            f"{label}: expected NAME>=VALUE or NAME<=VALUE{hint}, e.g. roc_auc>=0.7",
            ErrorCode.USAGE,
        )
    name, _, raw = (part.strip() for part in source.partition(op))
    known = (*METRICS, *FAIRNESS_METRICS, *STABILITY_GATES)
    if name not in known:
        raise MlopsError(
            f"{label}: unknown gate {name!r}; {_did_you_mean(name, known)}", ErrorCode.USAGE
        )
    read = _Reader(None)
    if raw.startswith("champion"):
        return _champion_gate(label, name, op, raw[len("champion") :].replace(" ", ""), text)
    try:
        value = float(raw)
    except ValueError:
        raise MlopsError(
            f"{label}: {raw!r} is not a number (or champion-MARGIN)", ErrorCode.USAGE
        ) from None
    if not math.isfinite(value):
        raise MlopsError(f"{label}: {raw!r} is not a finite number", ErrorCode.USAGE)
    key: Literal["min", "max"] = "min" if op == ">=" else "max"
    try:
        if name in STABILITY_GATES:
            if op != "<=":
                raise read.fail(name, f"is an upper bound: write {name}<={raw}")
            _psi(read, value, name)
            return GateSpec("stability", name, "max", value, text)
        if name in FAIRNESS_METRICS:
            read.in_range(value, name, FAIRNESS_METRICS[name])
            return GateSpec("fairness", name, key, value, text)
        read.in_range(value, name, METRICS[name])
    except MlopsError as exc:
        raise MlopsError(f"{label}: {exc.message}", ErrorCode.USAGE) from None
    return GateSpec("metrics", name, key, value, text)


def _champion_gate(label: str, name: str, op: str, rest: str, text: str) -> GateSpec:
    if name not in METRICS:
        raise MlopsError(
            f"{label}: only evaluation metrics compare with the champion, not {name!r}",
            ErrorCode.USAGE,
        )
    higher = METRICS[name].higher_is_better
    sign, wanted_op = ("-", ">=") if higher else ("+", "<=")
    example = f"{name}{wanted_op}champion{sign}0.005"
    if op != wanted_op or (rest and not rest.startswith(sign)):
        better = "higher" if higher else "lower"
        raise MlopsError(
            f"{label}: {better} {name} is better, so write it as {example}", ErrorCode.USAGE
        )
    margin = 0.0
    if rest:
        try:
            margin = float(rest[1:])
        except ValueError:
            margin = math.nan
        if not math.isfinite(margin) or margin < 0:
            raise MlopsError(
                f"{label}: {rest[1:]!r} is not a margin (a number, 0 or more), e.g. {example}",
                ErrorCode.USAGE,
            )
    return GateSpec("metrics", name, "max_drop_vs_champion", margin, text)


def apply_gates(policy: Policy, gates: Iterable[str | GateSpec]) -> Policy:
    """Return ``policy`` with command-line gates set, each overriding the same key.

    ``roc_auc>=0.75`` replaces ``gates.metrics.roc_auc.min`` and keeps its
    ``max_drop_vs_champion``.

    >>> base = policy_from_mapping("m", {"gates": {"metrics": {"roc_auc": {"min": 0.7}}}})
    >>> apply_gates(base, ["roc_auc>=champion-0.01"]).metrics
    (MetricGate(name='roc_auc', min=0.7, max=None, max_drop_vs_champion=0.01),)

    Raises:
        MlopsError: (USAGE) for a malformed gate, or one that leaves min above max.
    """
    specs = [gate if isinstance(gate, GateSpec) else parse_gate(gate) for gate in gates]
    if not specs:
        return policy
    metrics = {gate.name: gate for gate in policy.metrics}
    fairness = {gate.name: gate for gate in policy.fairness.gates}
    stability = {gate.name: gate for gate in policy.stability.gates}
    for spec in specs:
        low: float | None
        high: float | None
        change: dict[str, Any] = {spec.key: spec.value}
        if spec.section == "metrics":
            metric = dataclasses.replace(metrics.get(spec.name, MetricGate(spec.name)), **change)
            metrics[spec.name] = metric
            low, high = metric.min, metric.max
        elif spec.section == "fairness":
            fair = dataclasses.replace(fairness.get(spec.name, FairnessGate(spec.name)), **change)
            fairness[spec.name] = fair
            low, high = fair.min, fair.max
        else:
            stability[spec.name] = StabilityGate(spec.name, spec.value)
            low = high = None
        if low is not None and high is not None and low > high:
            raise MlopsError(
                f"--gate {spec.text!r}: leaves gates.{spec.section}.{spec.name} with min "
                f"{low:g} above max {high:g}",
                ErrorCode.USAGE,
            )
    return dataclasses.replace(
        policy,
        sources=(*policy.sources, *(f"--gate {spec.text}" for spec in specs)),
        metrics=tuple(metrics.values()),
        fairness=dataclasses.replace(policy.fairness, gates=tuple(fairness.values())),
        stability=dataclasses.replace(policy.stability, gates=tuple(stability.values())),
    )


def load_policy(
    model: str,
    *,
    policy_file: Path | str | None = None,
    gates: Iterable[str | GateSpec] = (),
    start: Path | None = None,
) -> Policy:
    """The policy ``model`` is validated under.

    ``policy_file`` (a YAML file) replaces the model's table in the nearest ``pyproject.toml``
    (at or above ``start``, default the working directory); ``gates`` (``--gate`` texts) then
    override single keys. With nothing configured, the policy is empty (``is_empty``): the
    caller says that nothing was gated.

    Raises:
        MlopsError: (USAGE) for a missing or malformed policy file, a bad key or value in the
            policy (named by its dotted path), or a malformed gate.
    """
    if policy_file is not None:
        policy = _from_file(model, Path(policy_file))
    else:
        policy = _from_pyproject(model, start or Path.cwd()) or Policy(model)
    return apply_gates(policy, gates)
