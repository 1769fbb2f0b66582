"""Nothing that looks like a secret is recorded."""

from __future__ import annotations

import pytest

from jupyter_mlops.core.redaction import (
    is_secret_name,
    looks_like_secret,
    mask_uri,
    redact_mapping,
    redact_text,
)


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
