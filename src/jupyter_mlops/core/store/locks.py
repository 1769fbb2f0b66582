"""Locks between processes: a file lock (``fcntl.flock``) and a PostgreSQL advisory lock.

Both wait a bounded time and raise :class:`TimeoutError` when the holder keeps them longer.
A file lock dies with its holder (the kernel releases it), so a killed process never leaves
a lock behind; the lock file itself stays (removing it would race with the next holder).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy

__all__ = ["advisory_lock", "file_lock", "lock_key", "postgres_connection"]

_POLL_S = 0.05


def lock_key(text: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` derived from ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


@contextmanager
def file_lock(path: Path, wait_s: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing).

    Raises:
        TimeoutError: another process held it for ``wait_s`` seconds.
        OSError: the lock file cannot be created.
    """
    import fcntl  # POSIX

    with path.open("a") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} held for {wait_s:g} s") from None
                time.sleep(_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def advisory_lock(connection: sqlalchemy.Connection, key: int, wait_s: float) -> Iterator[None]:
    """Hold the session-level PostgreSQL advisory lock ``key`` on ``connection`` (which should
    be in autocommit mode, so that waiting holds no other lock).

    Raises:
        TimeoutError: another session held it for ``wait_s`` seconds.
    """
    import sqlalchemy

    deadline = time.monotonic() + wait_s
    take = sqlalchemy.text("SELECT pg_try_advisory_lock(:key)")
    while not connection.execute(take, {"key": key}).scalar():
        if time.monotonic() > deadline:
            raise TimeoutError(f"advisory lock {key} held for {wait_s:g} s")
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextmanager
def postgres_connection(uri: str) -> Iterator[sqlalchemy.Connection | None]:
    """An autocommit connection to the PostgreSQL database ``uri``; None when it cannot be
    opened (no driver, server down: the caller's MLflow call reports that)."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    try:
        engine = sqlalchemy.create_engine(uri, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        connection = engine.connect()
    except Exception:
        yield None
        return
    try:
        yield connection
    finally:
        connection.close()
        engine.dispose()
