"""What several commands share: the ``--tracking-uri`` option and the core calls behind it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from mlflow import MlflowClient

F = TypeVar("F", bound=Callable[..., Any])


def tracking_uri_option(func: F) -> F:
    return click.option(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="MLflow tracking URI [default: MLFLOW_TRACKING_URI, pyproject.toml, "
        "or the project's mlflow.db].",
    )(func)


def registry(tracking_uri: str | None) -> tuple[MlflowClient, str]:
    """A client on the resolved store and how to name that store to the user."""
    from jupyter_mlops.core.capture.session import connect_registry

    client, settings = connect_registry(tracking_uri)
    return client, settings.display_uri


def writable(output: Path | None) -> Path | None:
    """A file the user named: its folder must exist (checked before anything is done)."""
    from jupyter_mlops.core.jobs.output_paths import writable_path

    return None if output is None else writable_path(output)


def runnable(program: str) -> str:
    """How to type ``program`` so it runs as printed (the venv may not be activated)."""
    from jupyter_mlops.core.console_scripts import runnable as how_to_type

    return how_to_type(program)
