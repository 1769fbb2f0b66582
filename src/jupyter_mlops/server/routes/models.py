"""Registered models: ``GET models?notebook=PATH`` (the inventory, of one notebook when
given), ``GET models/NAME`` and ``POST models/NAME/versions`` (register the model logged on a
run)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.registry.alias_ledger import AliasMove
from jupyter_mlops.core.registry.register import Registration, RegistrationRequest
from jupyter_mlops.core.registry.run_registration import register_logged
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.core.views.model_details import model_detail, model_list
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.bodies import RegisterBody, parse_body
from jupyter_mlops.server.contract import LedgerEntry, RegisterReply

__all__ = ["ROUTES"]


class ModelsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.in_store(self.notebook_argument(), model_list))


class ModelHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.reply(await self.in_store(self.notebook_argument(), model_detail, name))


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
        "alias": _ledger_entry(done.alias) if done.alias else None,
        "summary": done.summary(),
        "warnings": list(done.warnings),
    }


def _ledger_entry(move: AliasMove) -> LedgerEntry:
    return {
        "time": move.time,
        "actor": move.actor,
        "model": move.model,
        "alias": move.alias,
        "from_version": move.from_version,
        "to_version": move.to_version,
        "reason": move.reason,
        "action": move.action,
    }


class VersionsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = parse_body(RegisterBody, self.json_body())
        notebook = self.notebook_argument()
        reply = await self.in_store(notebook, register_run_model, body.run_id, body.request(name))
        self.reply(reply, 201)


ROUTES: list[tuple[str, type]] = [
    (r"models", ModelsHandler),
    (r"models/(?P<name>[^/]+)", ModelHandler),
    (r"models/(?P<name>[^/]+)/versions", VersionsHandler),
]
