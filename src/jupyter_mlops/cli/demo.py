"""``jupyter-mlops demo``: execute the example notebook and show where its runs are."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jupyter_mlops.cli.options import runnable, writable

DEFAULT_DEMO = Path("example_notebooks") / "credit_risk.ipynb"


@click.command()
@click.option(
    "--notebook",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_DEMO,
    show_default=True,
    help="Notebook to execute.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the executed notebook [default: build/demo/<name>.ipynb].",
)
def demo(notebook: Path, output: Path | None) -> None:
    """Execute the example notebook with papermill and show where its runs are."""
    from jupyter_mlops.demo import run_demo

    output = writable(output) or Path("build") / "demo" / notebook.name
    report = run_demo(
        notebook,
        output,
        progress=sys.stderr.isatty(),
        on_start=lambda path: click.echo(f"Executing {path} with papermill (a fresh kernel) ..."),
    )
    click.echo(f"Done in {report.seconds:.1f}s. Executed notebook: {report.output}")
    click.echo(
        f"Runs are in {report.settings.display_uri}, experiment {report.settings.experiment!r}:"
    )
    click.echo(report.runs.to_text())
    click.echo("")
    click.echo("Registered models:")
    click.echo(report.inventory.to_table())
    click.echo("")
    me = runnable("jupyter-mlops")
    click.echo(f"To explore them, run in {report.settings.project_root}:")
    click.echo(f"  {me} inventory --format html -o inventory.html   # for reviewers")
    for row in report.inventory.rows:
        if "champion" in row.aliases:
            click.echo(f"  {me} lineage {row.name}@champion")
    click.echo(f"  {report.ui_command}   # then open http://127.0.0.1:5000")
