"""The one handler base: JSON replies, request bodies, path confinement and the single mapping
of :class:`MlopsError` to an HTTP status with a JSON body (no traceback ever leaves)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado import web

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.paths import confine
from jupyter_mlops.core.store.notebook_store import NotebookStore, notebook_store

if TYPE_CHECKING:
    from jupyter_mlops.server.app import JupyterMlops

__all__ = ["AUTH_RESOURCE", "MlopsHandler"]

#: The resource name given to ``@authorized`` (jupyter_server's authorizer sees it).
AUTH_RESOURCE = "jupyter_mlops"
#: How deeply lists and objects may nest in a request body (job parameters need a few).
MAX_BODY_DEPTH = 32

P = ParamSpec("P")
T = TypeVar("T")


class MlopsHandler(APIHandler):
    """Base of every route. Subclasses decorate each verb with ``@web.authenticated`` and
    ``@authorized`` (``tests/server/test_server_security.py`` fails when one does not), parse
    the request here, make one core call with :meth:`in_store` or :meth:`in_thread` and
    :meth:`reply`."""

    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> JupyterMlops:
        """The extension: its settings (``c.JupyterMlops.*``) and its job executions."""
        app: JupyterMlops = self.settings["jupyter_mlops"]
        return app

    @property
    def root_dir(self) -> Path:
        """The server's root directory: every path parameter stays inside it."""
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    async def in_thread(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``call(*args, **kwargs)`` on a worker thread: the core reads stores and notebooks,
        the event loop never waits for them."""
        return await asyncio.to_thread(call, *args, **kwargs)

    async def in_store(
        self,
        notebook: Path | None,
        call: Callable[Concatenate[NotebookStore, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``call(store, *args, **kwargs)`` on a worker thread, ``store`` being the store of
        ``notebook`` (a path from :meth:`notebook_argument`), else of the server's root."""
        root, override = self.root_dir, self.app.tracking_uri or None

        def work() -> T:
            store = notebook_store(notebook, cwd=root, tracking_uri=override)
            return call(store, *args, **kwargs)

        return await asyncio.to_thread(work)

    def reply(self, body: Mapping[str, Any], status: int = 200) -> None:
        """Send ``body`` (one of the contract's TypedDicts) as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=str))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object.

        Raises:
            MlopsError: USAGE when it is not a JSON object or nests deeper than
                :data:`MAX_BODY_DEPTH`.
        """
        try:
            data = json.loads(self.request.body or b"{}")
        except RecursionError:
            data = None  # nested far too deep to even parse
        except ValueError as exc:
            raise MlopsError(f"the request body is not JSON: {exc}", ErrorCode.USAGE) from None
        if data is None or _too_deep(data):
            raise MlopsError(
                f"the request body nests lists or objects more than {MAX_BODY_DEPTH} deep",
                ErrorCode.USAGE,
            )
        if not isinstance(data, dict):
            raise MlopsError("the request body must be a JSON object", ErrorCode.USAGE)
        return data

    def required_argument(self, name: str) -> str:
        """A query argument that must be present and non-empty.

        Raises:
            MlopsError: USAGE when missing.
        """
        value = self.get_query_argument(name, default="")
        if not value:
            raise MlopsError(f"the query parameter {name!r} is required", ErrorCode.USAGE)
        return value

    def notebook_path(self, value: str) -> Path:
        """A notebook path sent by the client, confined to the server's root.

        Raises:
            MlopsError: USAGE for ``..``, absolute paths or a non-notebook; NOT_FOUND when
                missing or leading outside the root through a symlink.
        """
        return confine(self.root_dir, value, suffix=".ipynb")

    def notebook_argument(self, *, required: bool = False) -> Path | None:
        """The notebook named by the ``notebook`` query argument, confined to the root; None
        when it is absent and not required.

        Raises:
            MlopsError: USAGE when required and absent, else as :meth:`notebook_path`.
        """
        text = (
            self.required_argument("notebook")
            if required
            else self.get_query_argument("notebook", "")
        )
        return self.notebook_path(text) if text else None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error leaves as ``{"error": slug, "message": text}``; never a traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MlopsError):  # mapped once, here: the code fixes the status
            self.set_status(exc.code.http_status)
            body = {"error": exc.code.slug, "message": exc.message}
        elif isinstance(exc, web.HTTPError):
            body = {"error": _slug(status_code), "message": exc.log_message or self._reason}
        else:
            body = {"error": ErrorCode.INTERNAL.slug, "message": "internal error (see the log)"}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MlopsError):  # a user's mistake, not a server fault
            self.log.info("jupyter-mlops: %s %s", value.code.slug, value.message)
            return
        super().log_exception(typ, value, tb)


def _too_deep(data: Any) -> bool:
    """True when lists/objects in ``data`` nest more than :data:`MAX_BODY_DEPTH` levels
    (walked without recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_BODY_DEPTH:
                return True
            items = value.values() if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return False


def _slug(status: int) -> str:
    for code in ErrorCode:
        if code.http_status == status:
            return code.slug
    return "forbidden" if status == 403 else "http_error"
