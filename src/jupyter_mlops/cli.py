"""Command-line adapter: ``jupyter-mlops`` (also ``jupyter mlops``).

Each command gathers its options, makes one core call and prints the result. Errors from the
core are reported in one line and mapped once to exit codes (0 ok, 1 failure, 2 usage).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jupyter_mlops import __version__
from jupyter_mlops.core.errors import MlopsError

__all__ = ["main"]

DEFAULT_DEMO = Path("example_notebooks") / "credit_risk.ipynb"


class _MlopsGroup(click.Group):
    """Turns :class:`MlopsError` into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MlopsError as exc:
            click.echo(f"jupyter-mlops: error: {exc}", err=True)
            sys.exit(exc.code.exit_code)


@click.group(cls=_MlopsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jupyter-mlops")
def main() -> None:
    """Jupyter-native MLOps: notebook experiments captured in MLflow with lineage."""


@main.command()
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
    from jupyter_mlops.core.demo import run_demo  # imports MLflow: only when needed

    output = output or Path("build") / "demo" / notebook.name
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
    click.echo(f"To browse them, run in {report.settings.project_root}:")
    click.echo(f"  {report.ui_command}")
    click.echo("then open http://127.0.0.1:5000")
