"""Route registering the model logged on a run: ``POST models/NAME/versions``."""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.register import RegistrationRequest
from jupyter_mlops.core.registry.run_registration import register_logged
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.contract import RegisterReply

__all__ = ["ROUTES"]

_FIELDS = ("run_id", "alias", "owner", "purpose", "risk_tier", "reason")


class VersionsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = self.json_body()
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise MlopsError(f"unknown field(s): {', '.join(unknown)}", ErrorCode.USAGE)
        if not isinstance(body.get("run_id"), str) or not body["run_id"]:
            raise MlopsError("the field 'run_id' is required", ErrorCode.USAGE)
        if any(body.get(k) is not None and not isinstance(body[k], str) for k in _FIELDS):
            raise MlopsError("every field must be text (or null)", ErrorCode.USAGE)
        request = RegistrationRequest(
            name=name,
            alias=body.get("alias") or None,
            owner=body.get("owner") or None,
            purpose=body.get("purpose") or None,
            risk_tier=body.get("risk_tier") or None,
            reason=body.get("reason") or None,
        )
        store = self.store()
        done = await asyncio.to_thread(register_logged, store.client(), body["run_id"], request)
        reply: RegisterReply = {
            "name": done.name,
            "version": done.version,
            "run_id": done.run_id,
            "model_uri": done.model_uri,
            "alias": done.alias.to_dict() if done.alias else None,
            "summary": done.summary(),
            "warnings": list(done.warnings),
        }
        self.reply(reply, 201)


ROUTES: list[tuple[str, type]] = [(r"models/(?P<name>[^/]+)/versions", VersionsHandler)]
