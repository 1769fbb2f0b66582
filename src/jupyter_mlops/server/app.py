"""The server extension as a Jupyter ``ExtensionApp``: its settings (``c.JupyterMlops.*`` in
``jupyter_server_config.py`` or ``--JupyterMlops.mlflow_ui_url=...`` on the command line), its
routes under ``<base_url>/jupyter-mlops/api/`` and the job executions it cancels when the
server stops."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Int, Unicode

from jupyter_mlops.server.contract import API_NAMESPACE

if TYPE_CHECKING:
    from jupyter_mlops.core.jobs.executions import ExecutionManager

__all__ = ["JupyterMlops"]


class JupyterMlops(ExtensionApp):
    """What the panel's server side needs beyond the project's own settings.

    The class name is the configuration section: ``c.JupyterMlops.max_running_jobs = 1``.
    """

    name = "jupyter_mlops"  # the key in ``jpserver_extensions`` and in the web app's settings
    load_other_extensions = True

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

    _executions: ExecutionManager | None = None
    _executions_lock = threading.Lock()

    @property
    def executions(self) -> ExecutionManager:
        """The server's job executions, created on first use with the settings of that moment."""
        from jupyter_mlops.core.jobs.executions import ExecutionManager

        with self._executions_lock:
            if self._executions is None:
                self._executions = ExecutionManager(
                    max_running=self.max_running_jobs, log_lines=self.log_tail_lines
                )
            return self._executions

    def initialize_handlers(self) -> None:
        """Every route of :func:`~jupyter_mlops.server.routes.routes` below the namespace
        (``ExtensionApp`` prefixes the server's base URL). Imported here, not at start-up:
        the routes load MLflow, which ``jupyter server extension list`` need not pay for."""
        from jupyter_mlops.server.routes import routes

        self.handlers.extend(
            (url_path_join(API_NAMESPACE, pattern), handler) for pattern, handler in routes()
        )
        self.log.info("jupyter-mlops: %d routes under %s", len(self.handlers), API_NAMESPACE)

    async def stop_extension(self) -> None:
        """Cancel running jobs when the server stops, so none of their MLflow runs stays
        RUNNING (waits for each job to end its runs)."""
        manager = self._executions
        if manager is not None:
            await asyncio.to_thread(manager.shutdown)
