"""The REST routes, one module per resource; each contributes ``ROUTES`` (pattern below
``<base_url>/jupyter-mlops/api/``, handler class)."""

from __future__ import annotations

__all__ = ["routes"]


def routes() -> list[tuple[str, type]]:
    """Every (pattern below the namespace, handler) pair of the extension."""
    from jupyter_mlops.server.routes import config, executions, jobs, lineage, models, runs

    return [
        *config.ROUTES,
        *runs.ROUTES,
        *models.ROUTES,
        *lineage.ROUTES,
        *jobs.ROUTES,
        *executions.ROUTES,
    ]
