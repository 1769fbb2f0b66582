"""The software environment of a run: Python version and installed distributions.

Reading every installed distribution's metadata takes tens of milliseconds, so the result is
computed once per process (per kernel) and reused for every run; :func:`refresh` drops the
cache after ``%pip install``. Environment *variables* are never read here: they hold secrets.
"""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata

__all__ = ["refresh", "requirements_text"]


@functools.lru_cache(maxsize=1)
def requirements_text() -> str:
    """Return a pip-style ``requirements.txt``: a header naming the Python version and
    platform, then one ``name==version`` line per installed distribution, sorted by name.
    """
    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in pins:
            pins[name.lower()] = f"{name}=={dist.version}"
    header = (
        f"# python {platform.python_version()} ({sys.implementation.name})"
        f" on {platform.platform()}\n"
        f"# executable: {sys.executable}\n"
    )
    return header + "".join(line + "\n" for _, line in sorted(pins.items()))


def refresh() -> None:
    """Forget the cached environment, e.g. after packages were installed in this kernel."""
    requirements_text.cache_clear()
