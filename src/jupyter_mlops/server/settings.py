"""Settings of the server extension, as traitlets (``c.JupyterMlops.*`` in
``jupyter_server_config.py`` or ``--JupyterMlops.mlflow_ui_url=...`` on the command line)."""

from __future__ import annotations

from traitlets import Int, Unicode
from traitlets.config import Configurable

__all__ = ["JupyterMlops"]


class JupyterMlops(Configurable):
    """What the panel's server side needs beyond the project's own settings."""

    mlflow_ui_url = Unicode(
        "",
        help=(
            "Base URL of an MLflow UI showing the same store (e.g. http://127.0.0.1:5000). "
            "When set, the panel links each run to its page there; empty: no link."
        ),
    ).tag(config=True)

    tracking_uri = Unicode(
        "",
        help=(
            "Tracking URI for every notebook served (overrides MLFLOW_TRACKING_URI and "
            "pyproject.toml); empty: resolved per notebook as %mlops init does."
        ),
    ).tag(config=True)

    max_running_jobs = Int(
        2,
        help="How many job executions may run at once; more are refused with 409.",
    ).tag(config=True)

    log_tail_lines = Int(
        40, help="How many lines of a job execution's log the status reply carries."
    ).tag(config=True)
