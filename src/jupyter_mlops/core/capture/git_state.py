"""The git state of the folder a notebook lives in: commit, and whether it is dirty.

One ``git status`` per run gives both (``--porcelain=v2 --branch`` reports HEAD's commit);
whether the notebook is tracked is asked only until git says it is. ``GIT_OPTIONAL_LOCKS=0``
keeps status from rewriting the index while the user's own git commands may be running.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "file_at_commit", "no_commit_notice", "read_git_state"]

_TIMEOUT_S = 10
_tracked: set[Path] = set()  # notebooks git already reported as tracked


@dataclass(frozen=True)
class GitState:
    """HEAD commit and dirtiness of the repository holding a folder.

    ``dirty`` is True when tracked files have uncommitted changes, or when the notebook itself
    is not committed (a run from an untracked notebook cannot be reproduced from the commit).
    """

    commit: str
    dirty: bool


def read_git_state(folder: Path, notebook: Path | None = None) -> GitState | None:
    """Return the git state of the repository containing ``folder``, or None outside git,
    when git is not installed, or when the repository has no commit yet.
    """
    status = _git(folder, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return None
    commit = ""
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split(" ", 2)[2].strip()
        elif line and not line.startswith("#"):
            dirty = True
    if len(commit) < 40:  # "(initial)": no commit yet
        return None
    if notebook is not None and not dirty and not _is_tracked(folder, notebook):
        dirty = True
    return GitState(commit=commit, dirty=dirty)


def no_commit_notice(folder: Path) -> str | None:
    """One line saying that runs from ``folder`` record no git commit, or None when they do
    (the folder is in a git repository with at least one commit)."""
    if read_git_state(folder) is not None:
        return None
    return (
        f"no git commit recorded: {folder} is not in a git repository with a commit (or git "
        "is not installed); commit the notebook there to record which code made these runs"
    )


def _is_tracked(folder: Path, notebook: Path) -> bool:
    if notebook in _tracked:
        return True
    if _git(folder, "ls-files", "--error-unmatch", "--", str(notebook)) is None:
        return False
    _tracked.add(notebook)
    return True


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=folder,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def file_at_commit(path: Path, commit: str) -> str | None:
    """The text of ``path`` as it was at ``commit`` (None when git, the commit or the file at
    that commit is unavailable)."""
    if not commit or not all(c in "0123456789abcdef" for c in commit.lower()):
        return None
    return _git(path.parent, "show", f"{commit}:./{path.name}")
