"""Checking a tracking URI before anything uses it: cheap, without importing MLflow.

``jupyter-mlops run`` checks the store before a kernel starts (nothing runs or is written
for a store that cannot work); :func:`jupyter_mlops.core.store.tracking.connect` checks the same
before MLflow's own client, which retries an unreachable server for minutes.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

from jupyter_mlops.core.config import sqlite_database
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import mask_uri

__all__ = ["FIX_HINT", "check_store"]

#: How to choose another store, in a notebook.
FIX_HINT = "pass another one with `%mlops init --tracking-uri URI` or set MLFLOW_TRACKING_URI"
_PROBE_TIMEOUT_S = 5.0
# Tracking URIs MLflow accepts without "scheme://".
_BARE_URIS = frozenset({"databricks", "databricks-uc", "uc"})
# SQL stores other than SQLite (whose driver ships with Python): MLflow's database engines.
_SQL_SCHEMES = frozenset({"postgresql", "mysql", "mssql"})


def check_store(uri: str, hint: str = FIX_HINT) -> None:
    """Check what can be checked of a tracking store without MLflow, in seconds at most.

    The URI has a scheme; a SQLite database's folder exists; the database driver of
    another SQL store is installed; an HTTP server answers ``/health`` within a few seconds.
    ``hint`` (how to choose another store) ends each message.

    Raises:
        MlopsError: CONFIG for a malformed URI, a missing folder or driver;
            TRACKING_UNAVAILABLE for a server that does not answer.
    """
    shown = mask_uri(uri)
    scheme = urlsplit(uri).scheme
    if not scheme and uri not in _BARE_URIS:
        raise MlopsError(
            f"tracking URI {shown} has no scheme; use e.g. sqlite:///mlflow.db or "
            f"http://host:5000; {hint}",
            ErrorCode.CONFIG,
        )
    database = sqlite_database(uri)
    if database is not None and not database.parent.is_dir():
        raise MlopsError(
            f"tracking URI {shown}: folder {database.parent} does not exist; create it or {hint}",
            ErrorCode.CONFIG,
        )
    if scheme.split("+", 1)[0] in _SQL_SCHEMES:
        _check_driver(uri, shown, hint)
    if scheme in ("http", "https"):
        _probe_http(uri, shown, hint)


def _check_driver(uri: str, shown: str, hint: str) -> None:
    """The database driver SQLAlchemy would load for ``uri`` is importable."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        dialect = make_url(uri).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise MlopsError(
            f"tracking URI {shown} cannot be used: {exc}; {hint}", ErrorCode.CONFIG
        ) from exc
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise MlopsError(
            f"tracking URI {shown} needs the database driver {dialect.driver!r}, which is not "
            f"installed ({exc}); install it or {hint}",
            ErrorCode.CONFIG,
        ) from exc


def _probe_http(uri: str, shown: str, hint: str) -> None:
    """Fail fast on an unreachable server: MLflow's own client retries for minutes."""
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    url = urlunsplit((parts.scheme, host, parts.path.rstrip("/") + "/health", "", ""))
    request = urllib.request.Request(url)
    if "@" in parts.netloc:  # credentials travel as basic auth, never inside the URL
        user, _, password = unquote(parts.netloc.rsplit("@", 1)[0]).partition(":")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=_PROBE_TIMEOUT_S):
            pass
    except urllib.error.HTTPError as answered:
        answered.close()  # the server answered; MLflow will report what it thinks of the request
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MlopsError(
            f"tracking server {shown} is unreachable ({reason}); start it or {hint}",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from exc
