"""Every route of the server extension authenticates, authorizes and keeps paths inside the
server's root folder. The guard iterates ``jupyter_mlops.server.routes()``, so a handler added
later without ``@web.authenticated`` or ``@authorized`` fails here."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_server.auth.authorizer import Authorizer
from mlflow import MlflowClient
from tornado.httpclient import HTTPResponse

from jupyter_mlops.server import routes
from support.runs import artifact_text

_VERBS = ("get", "post", "put", "patch", "delete")
_SAMPLES = {"run_id": "0" * 32, "name": "credit-risk", "execution_id": "0" * 32}


class DenyAll(Authorizer):
    """An authorizer that refuses every action (the user is authenticated)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return False


def _endpoints() -> list[tuple[str, str]]:
    """(verb, concrete path below the namespace) for every handler method."""
    found = []
    for pattern, handler in routes():
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: _SAMPLES[m.group(1)], pattern)
        for verb in _VERBS:
            if verb in vars(handler) or any(
                verb in vars(base)
                for base in handler.__mro__
                if base.__module__.startswith("jupyter_mlops")
            ):
                found.append((verb.upper(), path))
    return found


async def _raw(http_server_client, jp_base_url, method, path, headers=None) -> HTTPResponse:
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    return await http_server_client.fetch(
        jp_base_url.rstrip("/") + "/jupyter-mlops/api/" + path,
        method=method,
        body=body,
        headers=headers or {},
        raise_error=False,
        follow_redirects=False,
    )


def test_the_guard_sees_every_route():
    endpoints = _endpoints()
    for expected in [("GET", "config"), ("GET", "runs"), ("GET", "models"), ("GET", "lineage")]:
        assert expected in endpoints
    assert len(endpoints) >= 6


async def test_every_verb_refuses_a_request_without_a_token(http_server_client, jp_base_url):
    for method, path in _endpoints():
        response = await _raw(http_server_client, jp_base_url, method, path)
        assert response.code == 403, (method, path, response.code)


@pytest.fixture
def deny_all_config(jp_server_config):
    jp_server_config["ServerApp"]["authorizer_class"] = DenyAll
    return jp_server_config


async def test_every_verb_asks_the_authorizer(deny_all_config, api):
    for method, path in _endpoints():
        status, body = await api(method, *path.split("/"))
        assert status == 403, (method, path, status, body)


@pytest.fixture
def layout(jp_root_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A notebook inside the root, one outside it, and a symlink inside pointing outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), secret)
    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / "inside.ipynb")
    (jp_root_dir / "link.ipynb").symlink_to(secret)
    return {"secret": secret}


_TRAVERSALS = [
    ("../outside/secret.ipynb", 400),
    ("..%2Foutside%2Fsecret.ipynb", 400),
    ("%2e%2e%2foutside%2fsecret.ipynb", 400),
    ("%2E%2E/outside/secret.ipynb", 400),
    ("sub/../../outside/secret.ipynb", 400),
    ("..\\outside\\secret.ipynb", 400),
    ("%252e%252e%252foutside%252fsecret.ipynb", 404),  # decoded once: a name that is not there
    ("link.ipynb", 404),  # a symlink out of the root
    ("~/secret.ipynb", 400),
]


@pytest.mark.parametrize("route", ["config", "runs", "models"])
@pytest.mark.parametrize(("payload", "status"), _TRAVERSALS)
async def test_traversal_in_the_notebook_parameter_is_refused(
    layout, http_server_client, jp_base_url, jp_auth_header, route, payload, status
):
    response = await _raw(
        http_server_client, jp_base_url, "GET", f"{route}?notebook={payload}", jp_auth_header
    )
    assert response.code == status, (payload, response.code, response.body[:300])
    body = json.loads(response.body)
    assert set(body) == {"error", "message"}
    assert str(layout["secret"].parent) not in body["message"]


@pytest.mark.parametrize("route", ["config", "runs"])
async def test_an_absolute_path_to_a_real_notebook_outside_is_refused(layout, api, route):
    status, body = await api("GET", route, params={"notebook": str(layout["secret"])})
    assert status == 400, body
    assert "inside the server's root" in body["message"]


async def test_a_notebook_inside_the_root_is_fine(layout, api):
    status, body = await api("GET", "config", params={"notebook": "inside.ipynb"})
    assert status == 200, body


# -- over-long paths and over-deep bodies are 400s (issue 12) ---------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "a" * 100_000 + ".ipynb",  # one name far over the file system's 255 bytes
        "a/" * 3000 + "x.ipynb",  # 6,007 characters of short names
        "é" * 200 + ".ipynb",  # 406 bytes in one name
    ],
)
async def test_an_over_long_notebook_path_in_a_body_is_a_400(layout, api, path):
    for route in (("jobs",), ("jobs", "executions")):
        status, body = await api("POST", *route, body={"notebook": path})
        assert status == 400, (route, status, body)
        assert "too long" in body["message"] and len(body["message"]) < 400


@pytest.mark.parametrize("route", ["config", "runs", "jobs"])
async def test_an_over_long_notebook_path_in_a_query_is_a_400(layout, api, route):
    status, body = await api("GET", route, params={"notebook": "a/" * 3000 + "x.ipynb"})
    assert status == 400, (status, body)
    status, body = await api("GET", route, params={"notebook": "b" * 300 + ".ipynb"})
    assert status == 400, (status, body)


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
async def test_a_deeply_nested_body_is_a_400(layout, api, jp_root_dir, depth):
    nested = '{"notebook": "inside.ipynb", "parameters": ' + "[" * depth + "]" * depth + "}"
    for route in (("jobs",), ("jobs", "executions"), ("models", "m1", "versions")):
        status, body = await api("POST", *route, body=nested)
        assert status == 400, (route, depth, status, body)
        assert "32 deep" in body["message"]
    assert not (jp_root_dir / "build").exists()  # no job was started


async def test_a_body_nested_32_deep_is_still_read(layout, api):
    nested = {"notebook": "inside.ipynb", "parameters": {"x": json.loads("[" * 30 + "]" * 30)}}
    status, body = await api("POST", "jobs", "executions", body=nested)
    assert status == 400 and "32 deep" not in body["message"], body  # refused for its content


# -- a job's secret parameters never reach MLflow or a reply (issue 12) -----------------------

_TOKEN = "plain-t0ken-4711"  # masked by its name only: no known token shape
_DB_PASSWORD = "hunter2-db-pw"  # masked as a key inside a dict parameter
_GITHUB = "ghp_" + "a1B2c3D4" * 5  # masked by its shape under a harmless name
_JOB_BODY = """\
%load_ext jupyter_mlops
print("using", api_token, conn, note)
"""
_JOB_RUN = "%%mlops run --no-autolog --params n\nresult = n * 2"


@pytest.fixture
def secret_job(jp_root_dir: Path, _migrated_store: Path) -> Path:
    """``job.ipynb`` in a project with its own store; it prints its parameters and makes one run."""
    (jp_root_dir / "pyproject.toml").write_text('[project]\nname = "p"\n')
    shutil.copyfile(_migrated_store, jp_root_dir / "mlflow.db")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_JOB_BODY), nbformat.v4.new_code_cell(_JOB_RUN)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, jp_root_dir / "job.ipynb")
    return jp_root_dir / "job.ipynb"


def _leaks(text: str) -> list[str]:
    return [s for s in (_TOKEN, _DB_PASSWORD, _GITHUB) if s in text]


@pytest.mark.slow
async def test_secret_job_parameters_are_masked_everywhere_they_are_recorded(
    api, secret_job: Path, jp_root_dir: Path
):
    declarations = ["api_token:str=x", "conn:dict={}", "note:str=x", "n:int=1"]
    status, job = await api(
        "POST", "jobs", body={"notebook": "job.ipynb", "parameters": declarations}
    )
    assert status == 200, job
    values = {
        "api_token": _TOKEN,
        "conn": {"password": _DB_PASSWORD, "host": "db"},
        "note": _GITHUB,
        "n": 2,
    }
    status, started = await api(
        "POST", "jobs", "executions", body={"notebook": "job.ipynb", "parameters": values}
    )
    assert status == 201, started
    assert started["parameters"] == {
        "api_token": "***",
        "conn": {"password": "***", "host": "db"},
        "note": "***",
        "n": 2,
    }
    for _ in range(960):
        status, done = await api("GET", "jobs", "executions", started["id"])
        if done["status"] not in ("STARTING", "RUNNING"):
            break
        await asyncio.sleep(0.25)
    assert done["status"] == "FINISHED", done["log_tail"]
    assert _leaks(json.dumps(done)) == [], json.dumps(done, indent=1)
    # The executed notebook on disk is the user's own file: it keeps what the kernel received.
    assert _TOKEN in (jp_root_dir / done["output"]).read_text()

    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    job_run = client.get_run(done["run_id"])
    assert job_run.data.params["api_token"] == "***" and job_run.data.params["note"] == "***"
    assert "'password': '***'" in job_run.data.params["conn"]
    assert json.loads(job_run.data.tags["mlops.job.parameters"])["api_token"] == "***"
    logged = artifact_text(client, job_run.info.run_id, "job/output.ipynb")
    assert _leaks(logged) == []
    output = json.loads(logged)
    assert output["metadata"]["papermill"]["parameters"]["conn"] == {
        "password": "***",
        "host": "db",
    }
    (injected,) = [
        c for c in output["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert "api_token = '***'" in injected["source"] and "n = 2" in injected["source"]
    (child_id,) = done["child_run_ids"]
    child = client.get_run(child_id)
    assert child.data.params["api_token"] == "***" and child.data.params["n"] == "2"

    replies = []
    for run_id in (job_run.info.run_id, child_id):
        status, detail = await api("GET", "runs", run_id, params={"notebook": "job.ipynb"})
        assert status == 200, detail
        replies.append(detail)
    status, page = await api("GET", "runs", params={"notebook": "job.ipynb"})
    replies.append(page)
    everything = [job_run.data.params, job_run.data.tags, child.data.params, child.data.tags]
    assert _leaks(json.dumps([*replies, *everything])) == []


async def test_run_replies_mask_params_and_tags_recorded_by_other_tools(layout, api, jp_root_dir):
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    experiment = client.create_experiment("jupyter-mlops")
    run = client.create_run(
        experiment,
        tags={"mlops.job.parameters": json.dumps({"api_token": _TOKEN, "n": 1}), "note": _GITHUB},
    )
    client.log_param(run.info.run_id, "db_password", _DB_PASSWORD)
    client.set_terminated(run.info.run_id)
    status, page = await api("GET", "runs", params={"notebook": "inside.ipynb", "limit": "5"})
    status, detail = await api("GET", "runs", run.info.run_id, params={"notebook": "inside.ipynb"})
    assert status == 200, detail
    assert detail["params"] == {"db_password": "***"}
    assert json.loads(detail["tags"]["mlops.job.parameters"]) == {"api_token": "***", "n": 1}
    assert _leaks(json.dumps([page, detail])) == []
