"""Files a command writes where the user said: the folder must exist already.

A mistyped ``-o /nonexistent/dir/x.html`` used to create ``/nonexistent/dir``; every command
that writes a file the user named (``inventory -o``, ``run --output``, ``job ci --output``,
``demo --output``) checks the path here first and refuses it before doing anything else.
Default outputs (``build/...``, ``.github/workflows/``) are ours to create and are not checked.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_mlops.core.errors import ErrorCode, MlopsError

__all__ = ["writable_path"]


def writable_path(path: Path) -> Path:
    """Return ``path`` made absolute, after checking that a file can be written there.

    Raises:
        MlopsError: USAGE when the folder that should hold the file does not exist (it is
            not created: a typo must not make folders) or when ``path`` is a folder.
    """
    resolved = path.expanduser().resolve()
    if resolved.is_dir():
        raise MlopsError(f"{resolved} is a folder; name a file to write", ErrorCode.USAGE)
    if not resolved.parent.is_dir():
        raise MlopsError(
            f"the folder {resolved.parent} does not exist; create it first or write elsewhere",
            ErrorCode.USAGE,
        )
    return resolved
