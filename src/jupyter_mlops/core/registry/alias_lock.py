"""One alias move at a time per registered model, across processes.

MLflow has no compare-and-set for aliases: two processes that each read where an alias points
and then move it both record the same "from" version. A move made through jupyter-mlops
therefore reads, moves and records while holding a lock on the model: a file lock next to a
SQLite store (``<database>.aliases.lock``), a PostgreSQL advisory lock (keyed by the model)
on a PostgreSQL store. Other stores (an MLflow server) offer no lock; there the move is
made without one and the ledger keeps the order in which the entries were written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

from mlflow import MlflowClient

from jupyter_mlops.core.config import sqlite_database
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.locks import advisory_lock, file_lock, lock_key, postgres_connection

__all__ = ["ALIAS_LOCK_SUFFIX", "model_lock"]

ALIAS_LOCK_SUFFIX = ".aliases.lock"
_WAIT_S = 30.0  # a move takes well under a second; a holder that takes longer is stuck


@contextmanager
def model_lock(client: MlflowClient, model: str, *, wait_s: float = _WAIT_S) -> Iterator[None]:
    """Hold the alias lock of ``model`` on ``client``'s registry (nothing where none exists).

    Raises:
        MlopsError: TRACKING_UNAVAILABLE when another move holds it longer than ``wait_s``.
    """
    uri = str(client._registry_uri)
    if (uri, model) in _held.keys:  # this thread holds it already (a rollback's move)
        yield
        return
    busy = MlopsError(
        f"another alias move of {model!r} has held its lock for {wait_s:g} s; try again",
        ErrorCode.TRACKING_UNAVAILABLE,
    )
    with ExitStack() as held:
        database = sqlite_database(uri)
        try:
            if database is not None:
                # One lock file for the store: moves are rare and short.
                held.enter_context(
                    file_lock(database.with_name(database.name + ALIAS_LOCK_SUFFIX), wait_s)
                )
            elif urlsplit(uri).scheme.split("+")[0] in ("postgresql", "postgres"):
                connection = held.enter_context(postgres_connection(uri))
                if connection is not None:
                    key = lock_key(f"jupyter-mlops alias {model}")
                    held.enter_context(advisory_lock(connection, key, wait_s))
        except TimeoutError:
            raise busy from None
        except OSError:  # a read-only folder: the move itself will say what is wrong
            pass
        _held.keys.add((uri, model))
        try:
            yield
        finally:
            _held.keys.discard((uri, model))


class _Held(threading.local):
    def __init__(self) -> None:
        self.keys: set[tuple[str, str]] = set()


_held = _Held()
