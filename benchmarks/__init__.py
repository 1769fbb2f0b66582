"""Benchmarks of jupyter-mlops, run with ``python -m benchmarks`` from the repository root.

Each benchmark module exposes ``NAME`` and ``run(quick: bool) -> list[Result]``; every ratio
is measured side by side in one process. See ``docs/benchmarks.md``.
"""

from __future__ import annotations
