"""The server extension is a Jupyter ``ExtensionApp``: its settings come from the
``JupyterMlops`` config section (file or command line), it is loaded by the extension manager,
and the server's shutdown reaches its ``stop_extension`` (no patching of the server). Request
bodies are checked field by field with messages naming the field the panel shows."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.extension.application import ExtensionApp
from traitlets.config import Config

from jupyter_mlops.server import JupyterMlops


@pytest.fixture
def configured(jp_server_config):
    jp_server_config["JupyterMlops"] = Config(
        {"mlflow_ui_url": "http://127.0.0.1:5000", "max_running_jobs": 1}
    )
    return jp_server_config


@pytest.fixture
def jp_argv() -> list[str]:
    return ["--JupyterMlops.log_tail_lines=7"]


def _app(serverapp: Any) -> JupyterMlops:
    (app,) = serverapp.extension_manager.extension_apps["jupyter_mlops"]
    assert isinstance(app, JupyterMlops) and isinstance(app, ExtensionApp)
    assert serverapp.web_app.settings["jupyter_mlops"] is app
    return app


async def test_the_config_section_and_the_command_line_reach_the_extension(
    configured, jp_serverapp, api, jp_root_dir
):
    app = _app(jp_serverapp)
    assert app.mlflow_ui_url == "http://127.0.0.1:5000"
    assert app.max_running_jobs == 1 and app.log_tail_lines == 7
    assert app.tracking_uri == ""
    (jp_root_dir / "a.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    status, body = await api("GET", "config", params={"notebook": "a.ipynb"})
    assert status == 200, body
    assert body["mlflow_ui_url"] == "http://127.0.0.1:5000"
    assert app.executions.max_running == 1 and app.executions.log_lines == 7


async def test_stopping_the_server_stops_the_extension_without_patching_it(jp_serverapp):
    app = _app(jp_serverapp)
    assert "cleanup_extensions" not in vars(jp_serverapp)  # the server's own method runs
    stopped: list[JupyterMlops] = []
    original = app.stop_extension

    async def stop_extension() -> None:
        stopped.append(app)
        await original()

    app.stop_extension = stop_extension  # type: ignore[method-assign]
    await jp_serverapp.cleanup_extensions()  # what the server does when it stops
    assert stopped == [app]
    assert app._executions is None  # no job ever ran: stopping created no job machinery


@pytest.mark.parametrize(
    ("route", "body", "words"),
    [
        (("jobs", "executions"), {"notebook": "a.ipynb", "timeout": 0}, "'timeout' must be"),
        (("jobs", "executions"), {"notebook": "a.ipynb", "timeout": -3}, "'timeout' must be"),
        (("jobs", "executions"), {"notebook": "a.ipynb", "timeout": True}, "'timeout' must be"),
        (("jobs", "executions"), {"notebook": "a.ipynb", "timeout": "9"}, "'timeout' must be"),
        (("jobs", "executions"), {"notebook": "a.ipynb", "parameters": [1]}, "an object"),
        (("jobs", "executions"), {"timeout": 5}, "the field 'notebook' is required"),
        (("jobs", "executions"), {"notebook": 3}, "the field 'notebook' must be text"),
        (("jobs",), {"notebook": "a.ipynb", "parameters": "n=1"}, "a list of NAME"),
        (("jobs",), {"notebook": "a.ipynb", "parameters": [1]}, "a list of NAME"),
        (("jobs",), {"notebook": "a.ipynb", "model": 1}, "the field 'model' must be text"),
        (("models", "m", "versions"), {}, "the field 'run_id' is required"),
        (("models", "m", "versions"), {"run_id": ""}, "the field 'run_id' is required"),
        (("models", "m", "versions"), {"run_id": "r", "a": 1, "b": 2}, "unknown field(s): a, b"),
        (("models", "m", "versions"), {"run_id": "r", "owner": 1}, "'owner' must be text"),
    ],
)
async def test_a_bad_body_is_a_400_naming_the_field(api, route, body, words):
    status, reply = await api("POST", *route, body=body)
    assert status == 400, reply
    assert set(reply) == {"error", "message"} and reply["error"] == "usage"
    assert words in reply["message"], reply
    assert "--" not in reply["message"], reply  # a field of the panel, not a CLI flag
