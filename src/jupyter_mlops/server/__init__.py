"""The Jupyter server extension: the ``ExtensionApp`` :class:`~.app.JupyterMlops` serving
REST routes under ``<base_url>/jupyter-mlops/api/``.

Enabled by the ``jupyter_server_config.d/jupyter_mlops.json`` file the wheel installs
(``ServerApp.jpserver_extensions``); the ``jupyter_mlops`` package points the server here with
``_jupyter_server_extension_points``. The routes live in :mod:`jupyter_mlops.server.routes`,
one module per resource.
"""

from __future__ import annotations

from jupyter_mlops.server.app import JupyterMlops
from jupyter_mlops.server.routes import routes

__all__ = ["JupyterMlops", "routes"]
