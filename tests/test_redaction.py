"""Nothing that looks like a secret is recorded."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import nbformat
import pytest
import yaml
from mlflow import MlflowClient

from jupyter_mlops.core.errors import MlopsError
from jupyter_mlops.core.jobs.workflow import write_workflow
from jupyter_mlops.core.redaction import (
    MASK,
    is_secret_name,
    looks_like_secret,
    mask_uri,
    mask_uris,
    redact_mapping,
    redact_parameters,
    redact_text,
)
from jupyter_mlops.core.registry.refs import get_model
from support.runs import artifact_text, only_run


@pytest.mark.parametrize(
    "name", ["password", "DB_PASSWORD", "api_key", "apiKey", "aws_secret", "token", "auth", "pwd"]
)
def test_secret_names(name: str):
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["n_estimators", "tokenizer", "author", "C", "monkey", "test_size"]
)
def test_ordinary_names(name: str):
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "AKIAABCDEFGHIJKLMNOP",
        "ghp_" + "x" * 36,
        "sk-" + "a" * 40,
        "Bearer abcdefghijklmnop",
        "postgresql://user:pw@host/db",
        "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
    ],
)
def test_secret_values_are_recognised_and_masked(value: str):
    assert looks_like_secret(value)
    assert value not in redact_text(f"config = {value!r}\nprint(config)")


def test_code_keeps_its_shape():
    code = 'password = "hunter2"\nconn = connect(user="bob", token="t0k")\nn = 3\n'
    assert redact_text(code) == 'password = "***"\nconn = connect(user="bob", token="***")\nn = 3\n'


def test_mask_uri_keeps_plain_uris_byte_for_byte():
    assert mask_uri("sqlite:////abs/path/mlflow.db") == "sqlite:////abs/path/mlflow.db"
    assert (
        mask_uri("https://u:p@host:5000/x?token=abc&a=1")
        == "https://u:***@host:5000/x?token=***&a=1"
    )


def test_redact_mapping():
    assert redact_mapping({"password": "x", "n": "3", "url": "http://a:b@c"}) == {
        "password": "***",
        "n": "3",
        "url": "***",
    }


# -- assignments into the environment (issue 12) ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "masked"),
    [
        (
            'os.environ["AWS_SECRET_ACCESS_KEY"] = "wJalr"',
            'os.environ["AWS_SECRET_ACCESS_KEY"] = "***"',
        ),
        ("os.environ['DB_PASSWORD']='pw'", "os.environ['DB_PASSWORD']='***'"),
        ('os.putenv("API_TOKEN", "t0k")', 'os.putenv("API_TOKEN", "***")'),
        ('os.environ.setdefault("API_KEY", "k")', 'os.environ.setdefault("API_KEY", "***")'),
        ('os.environ.update({"DB_PASSWORD": "pw"})', 'os.environ.update({"DB_PASSWORD": "***"})'),
        ('os.environ.update(DB_PASSWORD="pw")', 'os.environ.update(DB_PASSWORD="***")'),
        ("%env DB_PASSWORD=pw", "%env DB_PASSWORD=***"),
        ("%env DB_PASSWORD two words", "%env DB_PASSWORD ***"),
        ("%set_env API_TOKEN t0k", "%set_env API_TOKEN ***"),
        ('password = r"raw"', 'password = r"***"'),
        ("token = b'bytes'", "token = b'***'"),
        ('os.environ["GITHUB_TOKEN"] = f"t{n}"', 'os.environ["GITHUB_TOKEN"] = f"***"'),
    ],
)
def test_assignments_into_the_environment_are_masked(code: str, masked: str):
    assert redact_text(code) == masked


@pytest.mark.parametrize(
    "code",
    ['os.environ["REGION"] = "eu-west-1"', "%env REGION=eu-west-1", 'os.putenv("N", "3")', "%env"],
)
def test_ordinary_environment_assignments_are_kept(code: str):
    assert redact_text(code) == code


def test_environment_secrets_set_in_a_cell_never_reach_the_stored_code(
    shell, client, monkeypatch: pytest.MonkeyPatch
):
    for name in ("AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "API_TOKEN", "SESSION_ID", "REGION"):
        monkeypatch.setenv(name, "before")  # restored after the test: nothing leaks
    secrets = ["wJalrXUtnFEMI/K7MDENG", "hunter2-db", "t0k3n-api", "s3ss10n"]
    cell = (
        "%%mlops run --no-autolog\n"
        "import os\n"
        f'os.environ["AWS_SECRET_ACCESS_KEY"] = "{secrets[0]}"\n'
        f"os.putenv('DB_PASSWORD', '{secrets[1]}')\n"
        f'os.environ.setdefault("API_TOKEN", "{secrets[2]}")\n'
        f"%env SESSION_ID {secrets[3]}\n"
        'os.environ["REGION"] = "eu-west-1"\n'
    )
    assert shell.run_cell(cell).success
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == secrets[0]  # the cell really ran
    assert os.environ["SESSION_ID"] == secrets[3]
    run = only_run(client)
    stored = artifact_text(client, run.info.run_id, "code/cell.py")
    assert [s for s in secrets if s in stored] == []
    assert 'os.environ["AWS_SECRET_ACCESS_KEY"] = "***"' in stored
    assert "%env SESSION_ID ***" in stored
    assert 'os.environ["REGION"] = "eu-west-1"' in stored  # nothing else changed


# -- URLs with credentials inside error messages (issue 12) -----------------------------------


def test_mask_uris_masks_every_url_in_free_text():
    text = (
        "API request to http://ana:S3cret@127.0.0.1:9/api/2.0/x?name=m1 failed; "
        "see https://u:p%40ss@host/y?token=abc&a=1."
    )
    assert mask_uris(text) == (
        "API request to http://ana:***@127.0.0.1:9/api/2.0/x?name=m1 failed; "
        "see https://u:***@host/y?token=***&a=1."
    )
    assert mask_uris("sqlite:////abs/mlflow.db is fine") == "sqlite:////abs/mlflow.db is fine"


def test_every_error_we_raise_masks_the_urls_it_names():
    error = MlopsError("cannot list runs: API request to http://ana:S3cret@h:5000/api failed")
    assert "S3cret" not in str(error) and "S3cret" not in error.message
    assert "http://ana:***@h:5000/api" in str(error)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


@pytest.fixture
def quick_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's HTTP client gives up at once on a closed port."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


def test_mlflow_refusals_turned_into_our_errors_hide_the_tracking_password(quick_http):
    client = MlflowClient(f"http://ana:S3cret@127.0.0.1:{_closed_port()}")
    with pytest.raises(MlopsError) as caught:
        get_model(client, "m1")  # MLflow's message: "API request to http://ana:S3cret@..."
    assert "S3cret" not in str(caught.value)
    assert "Connection refused" in str(caught.value)  # the cause, in one line


# -- a job's parameters (issue 12) ------------------------------------------------------------


def test_redact_parameters_masks_by_name_shape_and_inside_containers():
    values = {
        "api_token": "t0k",
        "endpoint": "https://u:pw@host/x",
        "note": "ghp_" + "a1B2c3D4" * 5,
        "conn": {"password": "pw", "host": "db"},
        "hosts": ["a", "sk-" + "x" * 30],
        "n": 3,
    }
    assert redact_parameters(values) == {
        "api_token": MASK,
        "endpoint": MASK,
        "note": MASK,
        "conn": {"password": MASK, "host": "db"},
        "hosts": ["a", MASK],
        "n": 3,
    }


def test_a_secret_looking_job_parameter_comes_from_a_repository_secret(tmp_path: Path):
    notebook = tmp_path / "train.ipynb"
    nb = nbformat.v4.new_notebook()
    token = "ghp_" + "a1B2c3D4" * 5
    nb.cells = [
        nbformat.v4.new_code_cell(
            f'api_token: str = "{token}"\nendpoint: str = "https://ml:pw@db/x"\nn: int = 3',
            metadata={"tags": ["parameters"]},
        )
    ]
    nbformat.write(nb, notebook)
    written = write_workflow(notebook)
    text = written.path.read_text()
    assert token not in text and "ml:pw" not in text
    workflow = yaml.safe_load(text)
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"n"}
    (step,) = [s for s in workflow["jobs"]["run"]["steps"] if "env" in s]
    assert step["env"]["JOB_PARAM_api_token"] == "${{ secrets.JOB_PARAM_API_TOKEN }}"
    assert step["env"]["JOB_PARAM_endpoint"] == "${{ secrets.JOB_PARAM_ENDPOINT }}"
    assert step["env"]["JOB_PARAM_n"] == "${{ inputs.n }}"
    assert "set the repository secret JOB_PARAM_API_TOKEN" in text
    assert "JOB_PARAM_API_TOKEN, JOB_PARAM_ENDPOINT" in written.summary
