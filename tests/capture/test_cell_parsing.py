"""How a ``%%mlops run`` line is read: quoted values, unknown or abbreviated flags, unbalanced
quotes, trailing comments."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from support.runs import only_run, runs_of


def test_quoted_flag_values(shell, client):
    shell.run_cell('%%mlops run --no-autolog --name "first try" --tag note="two words"\nx = 1')
    run = only_run(client)
    assert run.info.run_name == "first try"
    assert run.data.tags["note"] == "two words"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("run --param x", "unrecognized arguments: --param"),
        ('run --name "open', "No closing quotation"),
    ],
)
def test_abbreviations_and_unbalanced_quotes_are_usage_errors(shell, client, line, message):
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("mlops", line, "executed = True")
    assert "executed" not in shell.user_ns and runs_of(client) == []


def test_a_trailing_comment_on_a_magic_line_is_ignored(shell, client):
    shell.run_line_magic("mlops", "init --experiment commented  # where runs go")
    result = shell.run_cell("%%mlops run --no-autolog --metrics m  # one run\nm = 2.0")
    assert result.success
    (run,) = runs_of(client, "commented")
    assert run.data.metrics == {"m": 2.0}
    assert run.data.tags["mlflow.runName"] != "#"
