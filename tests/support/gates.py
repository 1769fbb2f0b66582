"""Registered models for the gate tests: a generated loan book and plain-MLflow registration
(as a user's own training code does it)."""

from __future__ import annotations

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd

FEATURES = ["income", "debt", "age"]


def loans(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 15, rows),
            "debt": rng.normal(20, 8, rows),
            "age": rng.integers(20, 70, rows).astype(float),
            "home_owner": rng.choice(["own", "rent"], rows),
            "region": rng.choice(["north", "south"], rows),
        }
    )
    logit = 0.08 * (frame["income"] - 50) - 0.15 * (frame["debt"] - 20)
    frame["default"] = (rng.random(rows) < 1 / (1 + np.exp(logit))).astype(int)
    return frame


def register(tracking_uri: str, model: object, name: str = "credit-risk") -> str:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("training")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model")
    version = mlflow.register_model(info.model_uri, name)
    return str(version.version)
