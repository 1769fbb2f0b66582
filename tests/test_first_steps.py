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


def test_runs_table_shows_params_in_one_order(shell: InteractiveShell, capsys):
    """Two runs that chose the same params in another order list them alike (alphabetical)."""
    shell.run_cell("%%mlops run --params zeta,alpha --metrics m\nzeta, alpha, m = 1, 2, 0.5")
    shell.run_cell("%%mlops run --params alpha,zeta --metrics m\nzeta, alpha, m = 3, 4, 0.5")
    capsys.readouterr()
    listing = shell.run_line_magic("mlops", "runs")
    rows = listing.to_text().splitlines()[3:]
    assert len(rows) == 2, listing.to_text()
    assert "alpha=4, zeta=3" in rows[0]
    assert "alpha=2, zeta=1" in rows[1]
