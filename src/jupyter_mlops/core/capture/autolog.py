"""scikit-learn autologging switched on for exactly the duration of one captured cell.

``mlflow.sklearn.autolog()`` patches every estimator class, which costs 60-170 ms on each
call after the first (1.4 s for the first). Cells run often, so we configure autologging once
per process and afterwards flip only its ``disable`` flag, falling back to the public call
whenever the configuration is no longer the one we installed (someone else called autolog).

Models are not logged by autolog (``%mlops register`` logs the one you choose, with lineage),
and neither are datasets (we record them ourselves with full-content fingerprints).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["sklearn_autolog"]

_FLAVOR = "sklearn"
# MLflow's autolog computes log_loss with scikit-learn's renamed `y_pred` argument; the
# deprecation is MLflow's to fix, not the user's, so it is hidden while our autolog is on.
_THIRD_PARTY_NOISE = r"`y_pred` was renamed to `y_proba`"
_installed: dict[str, Any] | None = None  # the config dict our own autolog() call stored


@contextmanager
def sklearn_autolog(enabled: bool = True) -> Iterator[None]:
    """Enable scikit-learn autologging into the active MLflow run for the ``with`` body.

    Leaves a configuration the user made themselves (``mlflow.sklearn.autolog(...)`` in the
    notebook) untouched: if they enabled it, it stays enabled with their settings.
    """
    if not enabled or _enabled_by_user():
        yield
        return
    _switch(on=True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_THIRD_PARTY_NOISE, category=FutureWarning)
            yield
    finally:
        _switch(on=False)


def _integrations() -> dict[str, dict[str, Any]]:
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS

    return AUTOLOGGING_INTEGRATIONS


def _enabled_by_user() -> bool:
    config = _integrations().get(_FLAVOR)
    return config is not None and config is not _installed and not config.get("disable", True)


def _switch(*, on: bool) -> None:
    global _installed
    config = _integrations().get(_FLAVOR)
    if config is not None and config is _installed:
        config["disable"] = not on
        return
    import mlflow.sklearn

    mlflow.sklearn.autolog(
        log_models=False,
        log_datasets=False,
        log_input_examples=False,
        silent=True,
        disable=not on,
    )
    _installed = _integrations().get(_FLAVOR)
