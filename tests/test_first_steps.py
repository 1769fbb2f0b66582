"""The rough edges a newcomer hits first (issue 11): through the real shell and the real CLI."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell


def test_bare_mlops_prints_the_usage_not_an_error(shell: InteractiveShell, capsys):
    result = shell.run_cell("%mlops")
    out, err = capsys.readouterr()
    assert result.success, result.error_in_exec
    assert "unknown %mlops subcommand" not in out + err
    assert "UsageError" not in out + err
    assert "  %mlops init [--tracking-uri TRACKING_URI]" in out
    assert "%%mlops run" in out and "--log-model" in out and "%mlops job" in out
