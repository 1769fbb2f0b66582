"""The ``jupyter-mlops`` group: its version option, the commands of every group module, and
the one place where an :class:`MlopsError` becomes a line on stderr and an exit code."""

from __future__ import annotations

import sys

import click

from jupyter_mlops._version import __version__
from jupyter_mlops.cli.alias import alias, rollback
from jupyter_mlops.cli.demo import demo
from jupyter_mlops.cli.jobs import job, reproduce, run_job
from jupyter_mlops.cli.registry import inventory, lineage
from jupyter_mlops.cli.runs import runs
from jupyter_mlops.cli.validation import promote, validate
from jupyter_mlops.core.errors import MlopsError

__all__ = ["main"]


class _MlopsGroup(click.Group):
    """Turns :class:`MlopsError` into one line on stderr and its exit code
    (``error.code.exit_code``: the mapping defined once in :mod:`jupyter_mlops.core.errors`)."""

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


for _command in (
    demo,
    run_job,
    lineage,
    reproduce,
    inventory,
    alias,
    rollback,
    runs,
    job,
    validate,
    promote,
):
    main.add_command(_command)
