"""The git state of the folder a notebook lives in: commit, dirtiness, whether it is tracked."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "read_git_state"]

_TIMEOUT_S = 10


@dataclass(frozen=True)
class GitState:
    """HEAD commit and dirtiness of the repository holding a folder.

    ``dirty`` is True when tracked files have uncommitted changes, or when the notebook itself
    is not committed (a run from an untracked notebook cannot be reproduced from the commit).
    """

    commit: str
    dirty: bool
    root: Path


def read_git_state(folder: Path, notebook: Path | None = None) -> GitState | None:
    """Return the git state of the repository containing ``folder``, or None outside git,
    when git is not installed, or when the repository has no commit yet.
    """
    head = _git(folder, "rev-parse", "HEAD", "--show-toplevel")
    if head is None:
        return None
    lines = head.splitlines()
    if len(lines) != 2:
        return None
    commit, root = lines
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    dirty = status is None or bool(status.strip())
    if notebook is not None and not dirty:
        tracked = _git(folder, "ls-files", "--error-unmatch", "--", str(notebook))
        dirty = tracked is None
    return GitState(commit=commit, dirty=dirty, root=Path(root))


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
