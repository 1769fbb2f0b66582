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

from typing import TYPE_CHECKING

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.fingerprint import fingerprint
from jupyter_mlops.fluent import init, reset, run, runs

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__version__ = "0.1.0"

__all__ = [
    "ErrorCode",
    "MlopsError",
    "__version__",
    "fingerprint",
    "init",
    "load_ipython_extension",
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
