"""jupyter-mlops: capture notebook experiments in MLflow with cell-level lineage.

In a notebook::

    %load_ext jupyter_mlops
    %mlops init

    %%mlops run --params C --metrics auc
    ...

In plain Python::

    import jupyter_mlops
    with jupyter_mlops.run("baseline", params={"C": 1.0}) as run:
        ...
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from jupyter_mlops._version import __version__
from jupyter_mlops.core.errors import ErrorCode, MlopsError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_mlops.core.capture.fingerprint import fingerprint
    from jupyter_mlops.fluent import init, inventory, lineage, register, reset, run, runs

# Imported on first use: MLflow and pandas take seconds to import, and `jupyter-mlops
# --version` or a CLI usage error should not pay for them.
_LAZY = {
    "fingerprint": "jupyter_mlops.core.capture.fingerprint",
    "init": "jupyter_mlops.fluent",
    "inventory": "jupyter_mlops.fluent",
    "lineage": "jupyter_mlops.fluent",
    "register": "jupyter_mlops.fluent",
    "reset": "jupyter_mlops.fluent",
    "run": "jupyter_mlops.fluent",
    "runs": "jupyter_mlops.fluent",
}


__all__ = [
    "ErrorCode",
    "MlopsError",
    "__version__",
    "fingerprint",
    "init",
    "inventory",
    "lineage",
    "load_ipython_extension",
    "register",
    "reset",
    "run",
    "runs",
    "unload_ipython_extension",
]


def load_ipython_extension(shell: InteractiveShell) -> None:
    """``%load_ext jupyter_mlops``: register ``%mlops`` / ``%%mlops``."""
    from jupyter_mlops.magics import load

    load(shell)


def unload_ipython_extension(shell: InteractiveShell) -> None:
    """``%unload_ext jupyter_mlops``: remove the hooks the extension installed."""
    from jupyter_mlops.magics import unload

    unload(shell)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell Jupyter Server where the extension lives (``jupyter server extension list``): the
    ``ExtensionApp`` of :mod:`jupyter_mlops.server`, imported only when a server asks."""
    from jupyter_mlops.server import JupyterMlops

    return [{"module": "jupyter_mlops.server", "app": JupyterMlops}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension is, for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
