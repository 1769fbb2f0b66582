"""Fixtures for the server extension's routes: a real Jupyter server (pytest-jupyter) with
jupyter_mlops enabled and unauthenticated access disabled, and an ``api`` caller.

Used from ``conftest.py``; a test asks for ``api`` and awaits it::

    async def test_config(api):
        status, body = await api("GET", "config", params={"notebook": "nb.ipynb"})
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

ApiCall = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def jp_server_config(jp_root_dir: Path) -> Config:
    """Our extension on, every request must authenticate, the root is the test's folder."""
    return Config(
        {
            "ServerApp": {
                # terminals refuse to load when unauthenticated access is disabled: not ours
                "jpserver_extensions": {"jupyter_mlops": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
                "root_dir": str(jp_root_dir),
            },
        }
    )


@pytest.fixture
def api(jp_fetch: Any) -> ApiCall:
    """``await api(METHOD, "runs", params={...}, body={...}, headers={...})`` ->
    (status, decoded JSON body). Never raises on 4xx/5xx: tests assert the status."""

    async def call(
        method: str,
        *path: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str | bytes) else json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = "{}"
        if params:
            kwargs["params"] = dict(params)
        if headers is not None:
            kwargs["headers"] = dict(headers)
        response = await jp_fetch("jupyter-mlops", "api", *path, **kwargs)
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    return call
