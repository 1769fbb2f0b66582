"""Private temporary folders of a job or kernel, named by the process that owns them.

``jupyter-mlops run`` keeps a hand-off folder (``jupyter-mlops-job-<pid>-*``) and a folder of
kernel IPC sockets (``jupyter-mlops-kernel-<pid>-*``) in the temporary directory and removes
them when it ends. A process killed with SIGKILL cannot; the next one to make such a folder
removes those whose owning process is gone (never a live process's, never another user's).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from jupyter_mlops.core.store.processes import process_exists

__all__ = ["private_folder", "sweep_dead_folders"]

_NAME = re.compile(r"^jupyter-mlops-(?:job|kernel)-(\d+)-")


def private_folder(kind: str) -> Path:
    """A new folder ``jupyter-mlops-<kind>-<pid>-*`` only this user can open, after removing
    those left by dead processes."""
    sweep_dead_folders()
    return Path(tempfile.mkdtemp(prefix=f"jupyter-mlops-{kind}-{os.getpid()}-"))


def sweep_dead_folders(root: Path | None = None) -> list[Path]:
    """Remove this user's job and kernel folders whose owning process is not alive; return
    them. Errors are ignored: a folder that cannot be removed now is tried again next time."""
    folder = Path(root or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        try:
            if not match or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if not process_exists(int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed
