"""One long-lived, checked MLflow client per tracking URI (what a server reuses per request)."""

from __future__ import annotations

import threading

from mlflow import MlflowClient

from jupyter_mlops.core.store.tracking import connect

__all__ = ["cached_client"]

_clients: dict[str, MlflowClient] = {}
_clients_lock = threading.Lock()


def cached_client(tracking_uri: str) -> MlflowClient:
    """One checked client per tracking URI for the life of the process.

    The first call checks that the store answers
    (:func:`~jupyter_mlops.core.store.tracking.connect`);
    later calls reuse the client, so a request pays no connection probe.

    Raises:
        MlopsError: as :func:`~jupyter_mlops.core.store.tracking.connect` (nothing is cached then).
    """
    with _clients_lock:
        client = _clients.get(tracking_uri)
    if client is None:
        client = connect(tracking_uri)
        with _clients_lock:
            client = _clients.setdefault(tracking_uri, client)
    return client
