"""Paths as a server and a job see them: every path a client names is confined to one root
folder, and names that become files are reduced to safe file names.

>>> confine(Path("/srv/notebooks"), "../etc/passwd")
Traceback (most recent call last):
...
jupyter_mlops.core.errors.MlopsError: path '../etc/passwd' must stay inside the server's root folder
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from jupyter_mlops.core.errors import ErrorCode, MlopsError

__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PATH_LENGTH",
    "confine",
    "relative_to_root",
    "safe_file_name",
]

_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: The longest path a client may name (characters), and the longest single name in it
#: (bytes, the usual file-system limit).
MAX_PATH_LENGTH = 4096
MAX_NAME_BYTES = 255


def confine(
    root: Path, relative: str, *, must_exist: bool = True, suffix: str | None = None
) -> Path:
    """The absolute path of ``relative`` inside ``root``.

    Args:
        root: the folder nothing may leave (the server's root directory).
        relative: a ``/``-separated path relative to ``root``, as the client sent it.
        must_exist: require an existing file.
        suffix: require this file extension (e.g. ``.ipynb``).

    Raises:
        MlopsError: USAGE for an empty, absolute or ``..`` path, a NUL byte, a wrong suffix
            or a path longer than :data:`MAX_PATH_LENGTH` (a name longer than
            :data:`MAX_NAME_BYTES`); NOT_FOUND when the file is missing or a symlink leads
            outside ``root``. Nothing outside ``root`` is read to decide.
    """
    text = relative.strip()
    shown = relative if len(relative) <= 200 else relative[:200] + "..."
    if not text or "\x00" in text:
        raise MlopsError("a path is required", ErrorCode.USAGE)
    parts = re.split(r"[\\/]+", text)
    if len(text) > MAX_PATH_LENGTH or any(
        len(p.encode(errors="replace")) > MAX_NAME_BYTES for p in parts
    ):
        raise MlopsError(
            f"path {shown!r} is too long ({len(text)} characters; at most {MAX_PATH_LENGTH}, "
            f"{MAX_NAME_BYTES} bytes per name)",
            ErrorCode.USAGE,
        )
    if text.startswith(("/", "\\", "~")) or _DRIVE.match(text) or ".." in parts:
        raise MlopsError(
            f"path {shown!r} must stay inside the server's root folder", ErrorCode.USAGE
        )
    if suffix is not None and not text.endswith(suffix):
        raise MlopsError(f"path {shown!r} is not a {suffix} file", ErrorCode.USAGE)
    root = root.resolve()
    candidate = root.joinpath(*[p for p in parts if p not in ("", ".")])
    missing = MlopsError(f"no file {shown!r} in the server's root folder", ErrorCode.NOT_FOUND)
    try:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root):  # a symlink pointing out of the root
            raise missing
        if must_exist and not resolved.is_file():
            raise missing
    except OSError:  # a name the file system refuses (too long, a symlink loop, ...)
        raise missing from None
    return resolved


def safe_file_name(name: str, fallback: str = "job") -> str:
    """``name`` reduced to one safe file name: no separators, no ``..``, no leading dot.

    For names that become folders or files (a job's output folder, an experiment's
    artifact folder, a workflow file); ``fallback`` when nothing is left.

    >>> safe_file_name("../../../outside/escaped")
    'outside-escaped'
    >>> safe_file_name("..")
    'job'
    """
    return _UNSAFE.sub("-", name).strip("-.") or fallback


def relative_to_root(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` with ``/`` separators ("" for the root itself); the
    absolute path when it lies outside (a store configured elsewhere)."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return str(path)
    return "" if relative == Path() else PurePosixPath(relative).as_posix()
