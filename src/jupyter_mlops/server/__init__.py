"""The Jupyter server extension: REST routes under ``<base_url>/jupyter-mlops/api/``.

Enabled by the ``jupyter_server_config.d/jupyter_mlops.json`` file the wheel installs; each
route module contributes ``ROUTES`` (pattern below the namespace, handler class).
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.utils import url_path_join

from jupyter_mlops.server.contract import API_NAMESPACE
from jupyter_mlops.server.settings import JupyterMlops

__all__ = ["routes"]


def routes() -> list[tuple[str, type]]:
    """Every (pattern below the namespace, handler) pair of the extension."""
    from jupyter_mlops.server import job_routes, registration_routes, registry_routes, run_routes

    return [
        *run_routes.ROUTES,
        *registry_routes.ROUTES,
        *registration_routes.ROUTES,
        *job_routes.ROUTES,
    ]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the routes and the ``JupyterMlops`` settings on a running server."""
    web_app = serverapp.web_app
    settings = JupyterMlops(parent=serverapp)
    web_app.settings["jupyter_mlops"] = settings
    base = url_path_join(web_app.settings["base_url"], API_NAMESPACE)
    handlers = [(url_path_join(base, pattern), handler) for pattern, handler in routes()]
    web_app.add_handlers(".*$", handlers)
    _cancel_jobs_on_stop(serverapp)
    serverapp.log.info("jupyter-mlops: %d routes under %s", len(handlers), base)


def _cancel_jobs_on_stop(serverapp: Any) -> None:
    """Cancel running jobs when the server shuts its extensions down, so none of their MLflow
    runs stays RUNNING. A plain (non-``ExtensionApp``) extension gets no stop hook of its own:
    we run first in the server's ``cleanup_extensions``."""
    cleanup = serverapp.cleanup_extensions

    async def cleanup_extensions() -> None:
        manager = serverapp.web_app.settings.get("jupyter_mlops_executions")
        if manager is not None:
            await asyncio.to_thread(manager.shutdown)
        await cleanup()

    serverapp.cleanup_extensions = cleanup_extensions
