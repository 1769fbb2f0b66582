"""Notebooks as jobs: ``job init|show|ci``, ``run`` and ``reproduce``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jupyter_mlops.cli.options import registry, runnable, tracking_uri_option, writable

if TYPE_CHECKING:
    from jupyter_mlops.core.jobs.run import JobResult


@click.command("run")
@click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Set a parameter; VALUE is converted to the parameter's declared type. Repeatable.",
)
@click.option(
    "-f",
    "--parameters-file",
    "parameter_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML file of parameter values (-p wins over it).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Executed notebook [default: build/jobs/<job>/<UTC time>.ipynb in the project root].",
)
@click.option("--experiment", default=None, help="Experiment of the job's runs.")
@click.option(
    "--timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help=f"Stop the job after this long (exit {124}).",
)
@click.option(
    "--cwd",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Working directory of the kernel [default: the notebook's folder].",
)
@click.option(
    "--allow-reassigned",
    is_flag=True,
    help="Run even when a cell after the parameters cell reassigns a parameter (the job run "
    "then records a value the notebook does not use; refused with exit 2 without this).",
)
@tracking_uri_option
def run_job(
    notebook: Path,
    parameters: tuple[tuple[str, str], ...],
    parameter_file: Path | None,
    output: Path | None,
    experiment: str | None,
    timeout: float | None,
    cwd: Path | None,
    allow_reassigned: bool,
    tracking_uri: str | None,
) -> None:
    """Execute NOTEBOOK as a job in a clean kernel, recorded as one MLflow run with a child
    run per %%mlops cell.

    Exit codes: 0 succeeded, 1 a cell failed, 2 bad parameters (or one a later cell
    reassigns), 124 timeout, 130 Ctrl-C, 138 the kernel died, 143 SIGTERM.
    """
    import gc
    import signal

    from jupyter_mlops.core.jobs.run import JobRun, prepare_job

    job = prepare_job(
        notebook,
        parameters=parameters,
        parameter_file=parameter_file,
        output=output,
        experiment=experiment,
        tracking_uri=tracking_uri,
        timeout=timeout,
        cwd=cwd,
        allow_reassigned=allow_reassigned,
    )
    for reassignment in job.contract.reassignments:
        click.echo(f"jupyter-mlops: warning: {reassignment.describe()}", err=True)
    click.echo(f"Running {job.notebook} as job {job.name!r} in a fresh kernel ...", err=True)
    job_run = JobRun(job, progress_bar=sys.stderr.isatty())

    def stop(signum: int, _frame: object) -> None:
        job_run.cancel("terminated" if signum == signal.SIGTERM else "interrupted")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = job_run.start().wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert result is not None
    # Everything is written: spare the interpreter's final collection of what MLflow,
    # SQLAlchemy and pandas left in memory (about a second at exit).
    gc.freeze()
    click.echo(result.to_text())
    if result.exit_code != 0:
        click.echo(
            f"jupyter-mlops: error: job {job.name!r} {result.outcome.replace('_', ' ')}: "
            f"{result.message} (executed notebook: {job.output})",
            err=True,
        )
        sys.exit(result.exit_code)
    _explore_hints(result)


def _explore_hints(result: JobResult) -> None:
    from jupyter_mlops.core.store.tracking import ui_command

    settings = result.job.settings
    me = runnable("jupyter-mlops")
    click.echo("")
    click.echo(f"To explore, run in {settings.project_root}:")
    for child in result.children:
        for version in child.versions:
            click.echo(f"  {me} lineage {version}")
    click.echo(f"  {me} inventory")
    ui = ui_command(settings.tracking_uri, settings.project_root, program=runnable("mlflow"))
    click.echo(f"  {ui}")


@click.command()
@click.argument("ref", metavar="MODEL@ALIAS|MODEL/VERSION")
@click.option(
    "--tolerance",
    type=float,
    default=1e-6,
    show_default=True,
    metavar="REL",
    help="Largest relative difference at which a metric still agrees.",
)
@tracking_uri_option
def reproduce(ref: str, tolerance: float, tracking_uri: str | None) -> None:
    """Re-execute the notebook that made a model version, in a clean kernel, and compare its
    metrics and data with the recorded ones. Exit 0 when reproduced, 1 when not."""
    from jupyter_mlops.core.jobs.reproduce import reproduce as run_reproduction
    from jupyter_mlops.core.registry.refs import parse_model_ref

    parsed = parse_model_ref(ref)
    client, _ = registry(tracking_uri)
    result = run_reproduction(
        client,
        parsed,
        tolerance=tolerance,
        progress_bar=sys.stderr.isatty(),
        on_start=lambda what: click.echo(
            f"Re-executing the notebook of {what} in a clean kernel ...", err=True
        ),
    )
    click.echo(result.to_text())
    sys.exit(result.exit_code)


@click.group()
def job() -> None:
    """Make a notebook a typed, parameterised job; show its contract; generate CI for it."""


@job.command("init")
@click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--name", default=None, help="Job name [default: the notebook's name].")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME[:TYPE]=DEFAULT",
    help="Declare (or change) a parameter; TYPE is int, float, str, bool, list, dict, date, "
    "datetime or any, with a trailing ? when it may be null (cap:int?=null); left out, it is "
    "the parameter's current type or inferred from DEFAULT. Repeatable.",
)
@click.option("--model", default=None, help="The registered model the job produces.")
@click.option("--experiment", default=None, help="Experiment of the job's runs.")
def job_init(
    notebook: Path,
    name: str | None,
    params: tuple[str, ...],
    model: str | None,
    experiment: str | None,
) -> None:
    """Write the job contract into NOTEBOOK (metadata.jupyter_mlops.job)."""
    from jupyter_mlops.core.jobs.contract import init_job

    result = init_job(notebook, name=name, declarations=params, model=model, experiment=experiment)
    for change in result.changes:
        click.echo(f"- {change}")
    click.echo(result.contract.to_text())


@job.command("show")
@click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the contract as JSON.")
def job_show(notebook: Path, as_json: bool) -> None:
    """Print NOTEBOOK's job contract (inferred from its parameters cell when none is stored)."""
    import json

    from jupyter_mlops.core.jobs.contract import job_contract

    contract = job_contract(notebook)
    if as_json:
        click.echo(json.dumps(contract.to_report(), indent=2))
    else:
        click.echo(contract.to_text())


@job.command("ci")
@click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--github", is_flag=True, help="Write a GitHub Actions workflow (the only target for now)."
)
@click.option(
    "--schedule",
    metavar="CRON",
    default=None,
    help="Also run on this cron schedule, 5 fields in UTC (e.g. '0 3 * * 1').",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Workflow file [default: .github/workflows/<job>.yml in the repository root].",
)
def job_ci(notebook: Path, github: bool, schedule: str | None, output: Path | None) -> None:
    """Write a CI workflow that runs NOTEBOOK as a job, on demand (one input per parameter)
    and on an optional schedule, and uploads the executed notebook."""
    from jupyter_mlops.core.jobs.workflow import write_workflow

    if not github:
        raise click.UsageError("only --github is supported for now: pass --github")
    written = write_workflow(notebook, schedule=schedule, output=writable(output))
    click.echo(f"wrote {written.path}")
    click.echo(written.summary)
