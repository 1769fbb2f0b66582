"""Command-line adapter: ``jupyter-mlops`` (also ``jupyter mlops``).

Each command gathers its options, makes one core call and prints the result. Errors from the
core are reported in one line and mapped once to exit codes (0 ok, 1 failure, 2 usage): the
group in :mod:`.app` exits with ``error.code.exit_code`` (:class:`~jupyter_mlops.core.errors.
ErrorCode`). One module per command group: :mod:`.runs`, :mod:`.registry` (lineage,
inventory), :mod:`.alias` (alias set/history, rollback), :mod:`.jobs` (job init/show/ci, run,
reproduce) and :mod:`.demo`.
"""

from __future__ import annotations

from jupyter_mlops.cli.app import main

__all__ = ["main"]
