"""Creating an MLflow database store safely when several processes open it at once.

MLflow creates a missing database (tables, then dozens of Alembic migrations) inside the first
client call, without coordination: two processes opening a new SQLite file together collide
(``table _alembic_tmp_experiments already exists``) and can leave it half-migrated for good.
:func:`store_creation` wraps that first call. A store that is complete is used without
waiting. Otherwise one process at a time holds a lock while MLflow creates (or finds) it:
an ``fcntl.flock`` on ``<database>.lock`` next to a SQLite file, a PostgreSQL advisory lock
on a PostgreSQL database. The others wait (bounded) and then reuse what the first created.

A SQLite store left half-migrated (by a killed creator or by the race itself) is repaired
under the lock when it holds no records; one that holds records is explained in one line.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from jupyter_mlops.core.config import sqlite_database
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import mask_uri
from jupyter_mlops.core.store.locks import advisory_lock, file_lock, lock_key, postgres_connection

if TYPE_CHECKING:
    import sqlalchemy

__all__ = ["LOCK_SUFFIX", "StoreState", "create_once", "inspect_sqlite", "store_creation"]

LOCK_SUFFIX = ".lock"
# Creating a store takes seconds (minutes on a crowded machine); a creator that dies releases
# the lock at once, so only a live but stuck creator makes the others wait this long.
_WAIT_S = 300.0
_TMP_PREFIX = "_alembic_tmp_"
# One advisory-lock key for every jupyter-mlops process (the lock is per database).
_PG_KEY = lock_key("jupyter-mlops store creation")


@dataclass(frozen=True)
class StoreState:
    """What a SQLite store holds, read without changing it."""

    tables: frozenset[str]
    version: str | None  # alembic_version, None when missing
    head: str
    records: int  # runs + registered models + experiments other than the default one
    default_experiment: bool  # MLflow creates it last, after the migrations

    @property
    def empty(self) -> bool:
        """No MLflow table at all: MLflow creates everything."""
        return not {t for t in self.tables if not t.startswith("alembic_")}

    @property
    def leftovers(self) -> list[str]:
        """Tables an interrupted Alembic batch migration left behind."""
        return sorted(t for t in self.tables if t.startswith(_TMP_PREFIX))

    @property
    def complete(self) -> bool:
        """Fully migrated, nothing left over, the default experiment created."""
        return self.version == self.head and not self.leftovers and self.default_experiment


def inspect_sqlite(database: Path) -> StoreState | None:
    """The state of the SQLite store ``database``; None when the file does not exist, is empty
    or is not a database MLflow could use (MLflow then reports it)."""
    if not database.is_file() or database.stat().st_size == 0:
        return None
    try:
        with _read_only(database) as db:
            tables = frozenset(
                r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            )
            version = None
            if "alembic_version" in tables:
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
                version = None if row is None else str(row[0])
            records = sum(
                _count(db, table, where)
                for table, where in (
                    ("runs", ""),
                    ("registered_models", ""),
                    ("experiments", " WHERE experiment_id != 0"),
                )
                if table in tables
            )
            default = "experiments" in tables and bool(
                _count(db, "experiments", " WHERE experiment_id = 0")
            )
    except sqlite3.DatabaseError:
        return None
    return StoreState(tables, version, _head_revision(), records, default)


def create_once(uri: str, *, wait_s: float = _WAIT_S) -> None:
    """Create the database store ``uri`` if it is missing or half-created, one process at a
    time; a complete store is left alone without waiting. Other stores are not touched.

    MLflow's own errors are not raised here: the caller's next MLflow call meets and reports
    them.

    Raises:
        MlopsError: as :func:`store_creation`.
    """
    if sqlite_database(uri) is None and not _is_postgres(uri):
        return
    with store_creation(uri, wait_s=wait_s) as needed:
        if not needed:  # complete, or created while this process waited
            return
        from mlflow import MlflowClient

        with suppress(Exception):  # the caller's own first call meets and reports it
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)


@contextmanager
def store_creation(uri: str, *, wait_s: float = _WAIT_S) -> Iterator[bool]:
    """Hold this around the first MLflow call on ``uri`` (which creates a missing store).

    Yields True while this process holds the creation lock of a store that is still missing
    or incomplete (it creates it now), False when the store is complete (no lock is held).

    Raises:
        MlopsError: TRACKING_UNAVAILABLE when another process holds the creation lock longer
            than ``wait_s`` or the lock cannot be taken; CONFLICT when a SQLite store was left
            half-migrated and holds records (the message says what to do).
    """
    database = sqlite_database(uri)
    if database is not None:
        state = inspect_sqlite(database)
        if state is not None and state.complete:
            yield False
            return
        lock = database.with_name(database.name + LOCK_SUFFIX)
        with ExitStack() as held:
            try:
                held.enter_context(file_lock(lock, wait_s))
            except TimeoutError:
                raise _busy(uri, wait_s, f" (lock {lock})") from None
            except OSError as exc:
                raise MlopsError(
                    f"cannot create the MLflow store {mask_uri(uri)}: {exc.strerror} ({lock})",
                    ErrorCode.TRACKING_UNAVAILABLE,
                ) from None
            _repair(database, uri)
            state = inspect_sqlite(database)  # another process may have created it meanwhile
            yield state is None or not state.complete
        return
    if not _is_postgres(uri):
        yield False
        return
    with postgres_connection(uri) as connection:
        if connection is None or _pg_complete(connection):
            yield False
            return
        with ExitStack() as held:
            try:
                held.enter_context(advisory_lock(connection, _PG_KEY, wait_s))
            except TimeoutError:
                raise _busy(uri, wait_s, "") from None
            yield not _pg_complete(connection)


def _repair(database: Path, uri: str) -> None:
    """Make a half-migrated store one MLflow can create or use, or explain why not."""
    state = inspect_sqlite(database)
    if state is None or state.empty or state.complete:
        return
    with closing(sqlite3.connect(database, timeout=30)) as db:
        if state.records == 0:  # an interrupted creation: start it again
            for table in sorted(state.tables):
                db.execute(f'DROP TABLE IF EXISTS "{table}"')
            return
        for leftover in state.leftovers:  # empty copies beside their table hold nothing
            if leftover[len(_TMP_PREFIX) :] in state.tables and not _count(db, leftover, ""):
                db.execute(f'DROP TABLE "{leftover}"')
    state = inspect_sqlite(database)
    if state is None or state.complete or (state.version == state.head and not state.leftovers):
        return
    problem = (
        f"is half-migrated: {', '.join(state.leftovers)} left by an interrupted migration"
        if state.leftovers
        else f"has schema version {state.version or 'none'}, not {state.head} (an older MLflow "
        "or an interrupted migration)"
    )
    raise MlopsError(
        f"MLflow store {mask_uri(uri)} {problem} and holds {state.records} records: back up "
        f"{database.name}, then run `mlflow db upgrade {mask_uri(uri)}`"
        + (" after restoring or dropping those tables" if state.leftovers else ""),
        ErrorCode.CONFLICT,
    )


def _pg_complete(connection: sqlalchemy.Connection) -> bool:
    import sqlalchemy

    present = connection.execute(
        sqlalchemy.text("SELECT to_regclass('alembic_version'), to_regclass('experiments')")
    ).one()
    if present[0] is None or present[1] is None:
        return False
    version = connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
    return version.scalar() == _head_revision()


def _is_postgres(uri: str) -> bool:
    return urlsplit(uri).scheme.split("+")[0] in ("postgresql", "postgres")


def _busy(uri: str, wait_s: float, where: str) -> MlopsError:
    return MlopsError(
        f"MLflow store {mask_uri(uri)} is still being created by another process after "
        f"{wait_s:.0f} s{where}; try again when it has finished",
        ErrorCode.TRACKING_UNAVAILABLE,
    )


@contextmanager
def _read_only(database: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        yield db
    finally:
        db.close()


def _count(db: sqlite3.Connection, table: str, where: str) -> int:
    return int(db.execute(f'SELECT COUNT(*) FROM "{table}"{where}').fetchone()[0])


@lru_cache(maxsize=1)
def _head_revision() -> str:
    from mlflow.store.db.utils import _get_latest_schema_revision

    return str(_get_latest_schema_revision())  # type: ignore[no-untyped-call]
