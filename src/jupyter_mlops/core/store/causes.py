"""One line naming the real cause of a tracking-store failure.

MLflow wraps a database failure twice (SQLAlchemy, then :class:`MlflowException`), and the
first line of the result is often SQLAlchemy's hint about autoflush rather than the cause
(``database or disk is full``, ``unable to open database file``, ``attempt to write a
readonly database``). :func:`store_cause` digs the innermost driver or OS error out of the
exception chain so that messages name what actually went wrong.

>>> import sqlite3
>>> try:
...     try:
...         raise sqlite3.OperationalError("database or disk is full")
...     except sqlite3.Error as inner:
...         raise RuntimeError("(raised as a result of Query-invoked autoflush; ...)") from inner
... except RuntimeError as outer:
...     store_cause(outer)
'database or disk is full'
"""

from __future__ import annotations

import logging

from mlflow.exceptions import MlflowException

from jupyter_mlops.core.config import sqlite_database
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import redact_text

__all__ = ["mlflow_error", "quiet_store_log", "store_cause"]

# Top-level modules of database drivers whose errors carry the real cause.
_DRIVER_MODULES = frozenset(
    {"sqlite3", "psycopg", "psycopg2", "pymysql", "MySQLdb", "pyodbc", "pymssql"}
)
# SQLAlchemy's decoration around a driver message: never the cause itself.
_NOISE = ("(raised as a result of", "(Background on this error", "[SQL:", "[parameters:")
_MLFLOW_DB_LOGGER = "mlflow.store.db.utils"
_MLFLOW_DB_MESSAGE = "SQLAlchemy database error"


def store_cause(error: BaseException, tracking_uri: str | None = None) -> str:
    """The cause of ``error`` in one line, secrets masked.

    That is the message of the innermost database-driver error (or OS error, such as a
    refused connection) in the chain of ``__cause__``, ``__context__`` and SQLAlchemy's
    ``orig``; without one, the first line of ``error`` that is not SQLAlchemy decoration.
    With the ``tracking_uri`` of a SQLite store whose file is gone, that is said too
    (SQLite itself then speaks of a read-only database).
    """
    cause = _cause(error)
    database = None if tracking_uri is None else sqlite_database(tracking_uri)
    if database is not None and not database.is_file():
        return f"{cause} (the database file {database} was deleted or moved)"
    return cause


def _cause(error: BaseException) -> str:
    chain = _chain(error)
    for candidate in reversed(chain):
        if _is_root(candidate):
            line = _first_line(str(candidate))
            if line:
                return redact_text(line)
    for candidate in chain:
        line = _first_line(str(getattr(candidate, "message", candidate)))
        if line:
            return redact_text(line)
    return type(error).__name__


def quiet_store_log() -> None:
    """Stop MLflow from logging a whole traceback for each database error.

    The error is raised as well, and jupyter-mlops reports it in one line naming the cause
    (:func:`store_cause`); the logged copy buried that line under ~90 others. Idempotent.
    """
    logger = logging.getLogger(_MLFLOW_DB_LOGGER)
    if not any(isinstance(f, _DropDatabaseErrorDump) for f in logger.filters):
        logger.addFilter(_DropDatabaseErrorDump())


class _DropDatabaseErrorDump(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_MLFLOW_DB_MESSAGE)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and what it was raised from, outermost first (each exception once)."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        orig = getattr(current, "orig", None)  # sqlalchemy.exc.DBAPIError
        if isinstance(orig, BaseException):
            current = orig
        elif current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return found


def _is_root(error: BaseException) -> bool:
    module = type(error).__module__.split(".", 1)[0]
    return module in _DRIVER_MODULES or isinstance(error, OSError)


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(_NOISE):
            return line
    return ""


def mlflow_error(exc: MlflowException, doing: str) -> MlopsError:
    """Translate an MLflow refusal into our error: bad names are usage errors; a store
    failure names its real cause (e.g. ``database or disk is full``)."""
    first = store_cause(exc)
    code = {
        "INVALID_PARAMETER_VALUE": ErrorCode.USAGE,
        "RESOURCE_DOES_NOT_EXIST": ErrorCode.NOT_FOUND,
        "NOT_FOUND": ErrorCode.NOT_FOUND,
        "RESOURCE_ALREADY_EXISTS": ErrorCode.CONFLICT,
    }.get(exc.error_code, ErrorCode.TRACKING_UNAVAILABLE)
    return MlopsError(f"{doing}: {first}", code)
