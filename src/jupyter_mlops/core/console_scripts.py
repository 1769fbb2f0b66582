"""Commands we print for the user to type, spelled so that they run as printed.

Right after the Quickstart the virtual environment is not activated: ``mlflow`` and
``jupyter-mlops`` are in ``.venv/bin`` but not on ``PATH``, and a bare ``mlflow ui`` fails with
"command not found". So a printed command names the program by the full path of this
environment's scripts folder, unless typing the bare name runs that very program.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
from pathlib import Path

__all__ = ["runnable"]


def runnable(program: str, *, search_path: str | None = None) -> str:
    """How to type ``program``, a console script of this environment, so that it runs.

    The bare name when it resolves on ``search_path`` (default: ``PATH``) to this
    environment's script; else the script's full path (shell-quoted). A program this
    environment does not have is returned unchanged.
    """
    installed = _installed(program)
    if installed is None:
        return program
    found = shutil.which(
        program, path=os.environ.get("PATH", "") if search_path is None else search_path
    )
    if found is not None and _same_file(Path(found), installed):
        return program
    return shlex.quote(str(installed))


def _installed(program: str) -> Path | None:
    folders = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for folder in folders:
        candidate = folder / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    return None


def _same_file(left: Path, right: Path) -> bool:
    try:
        return left.samefile(right)
    except OSError:
        return False
