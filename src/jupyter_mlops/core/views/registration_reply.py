"""Registering the model logged on a run, as ``POST models/NAME/versions`` replies it."""

from __future__ import annotations

from jupyter_mlops.core.registry.register import Registration, RegistrationRequest
from jupyter_mlops.core.registry.run_registration import register_logged
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.core.types import RegisterReply

__all__ = ["register_run_model"]


def register_run_model(
    store: NotebookStore, run_id: str, request: RegistrationRequest
) -> RegisterReply:
    """Register the model logged on ``run_id`` in ``store`` as ``request`` says."""
    return _register_reply(register_logged(store.client(), run_id, request))


def _register_reply(done: Registration) -> RegisterReply:
    return {
        "name": done.name,
        "version": done.version,
        "run_id": done.run_id,
        "model_uri": done.model_uri,
        "alias": done.alias.to_dict() if done.alias else None,
        "summary": done.summary(),
        "warnings": list(done.warnings),
    }
