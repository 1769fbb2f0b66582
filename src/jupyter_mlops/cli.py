"""Command-line adapter: ``jupyter-mlops`` (also ``jupyter mlops``).

Each command gathers its options, makes one core call and prints the result. Errors from the
core are reported in one line and mapped once to exit codes (0 ok, 1 failure, 2 usage).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jupyter_mlops._version import __version__
from jupyter_mlops.core.errors import MlopsError

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

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
    from jupyter_mlops.demo import run_demo

    output = _writable(output) or Path("build") / "demo" / notebook.name
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
    me = _runnable("jupyter-mlops")
    click.echo(f"To explore them, run in {report.settings.project_root}:")
    click.echo(f"  {me} inventory --format html -o inventory.html   # for reviewers")
    for row in report.inventory.rows:
        if "champion" in row.aliases:
            click.echo(f"  {me} lineage {row.name}@champion")
    click.echo(f"  {report.ui_command}   # then open http://127.0.0.1:5000")


def _writable(output: Path | None) -> Path | None:
    """A file the user named: its folder must exist (checked before anything is done)."""
    from jupyter_mlops.core.jobs.output_paths import writable_path

    return None if output is None else writable_path(output)


def _tracking_uri_option(func: F) -> F:
    return click.option(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="MLflow tracking URI [default: MLFLOW_TRACKING_URI, pyproject.toml, "
        "or the project's mlflow.db].",
    )(func)


def _registry(tracking_uri: str | None) -> tuple[MlflowClient, str]:
    from jupyter_mlops.core.capture.session import connect_registry

    client, settings = connect_registry(tracking_uri)
    return client, settings.display_uri


@main.command("run")
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
@_tracking_uri_option
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


def _explore_hints(result: Any) -> None:
    from jupyter_mlops.core.store.tracking import ui_command

    settings = result.job.settings
    me = _runnable("jupyter-mlops")
    click.echo("")
    click.echo(f"To explore, run in {settings.project_root}:")
    for child in result.children:
        for version in child.versions:
            click.echo(f"  {me} lineage {version}")
    click.echo(f"  {me} inventory")
    ui = ui_command(settings.tracking_uri, settings.project_root, program=_runnable("mlflow"))
    click.echo(f"  {ui}")


def _runnable(program: str) -> str:
    """How to type ``program`` so it runs as printed (the venv may not be activated)."""
    from jupyter_mlops.core.console_scripts import runnable

    return runnable(program)


@main.command()
@click.argument("ref", metavar="MODEL[@ALIAS|/VERSION]")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the graph as JSON (documented schema)."
)
@_tracking_uri_option
def lineage(ref: str, as_json: bool, tracking_uri: str | None) -> None:
    """Show where a model version came from: data -> run -> version -> sibling versions."""
    from jupyter_mlops.core.registry.lineage.graph import build_lineage
    from jupyter_mlops.core.registry.refs import parse_model_ref

    parsed = parse_model_ref(ref)
    client, _ = _registry(tracking_uri)
    graph = build_lineage(client, parsed)
    click.echo(graph.to_json() if as_json else graph.to_text())


@main.command()
@click.argument("ref", metavar="MODEL@ALIAS|MODEL/VERSION")
@click.option(
    "--tolerance",
    type=float,
    default=1e-6,
    show_default=True,
    metavar="REL",
    help="Largest relative difference at which a metric still agrees.",
)
@_tracking_uri_option
def reproduce(ref: str, tolerance: float, tracking_uri: str | None) -> None:
    """Re-execute the notebook that made a model version, in a clean kernel, and compare its
    metrics and data with the recorded ones. Exit 0 when reproduced, 1 when not."""
    from jupyter_mlops.core.jobs.reproduce import reproduce as run_reproduction
    from jupyter_mlops.core.registry.refs import parse_model_ref

    parsed = parse_model_ref(ref)
    client, _ = _registry(tracking_uri)
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


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
    help="Output format; html is a self-contained page for reviewers.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when any model misses owner, purpose, risk tier or lineage.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file instead of standard output.",
)
@_tracking_uri_option
def inventory(fmt: str, strict: bool, output: Path | None, tracking_uri: str | None) -> None:
    """List every registered model with its inventory fields (PRA SS1/23)."""
    from jupyter_mlops.core.registry.inventory import build_inventory

    output = _writable(output)
    client, store = _registry(tracking_uri)
    found = build_inventory(client, store)
    text = found.render(fmt)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the inventory of {len(found.rows)} model(s) to {output}", err=True)
    if strict and found.incomplete:
        for row in found.incomplete:
            click.echo(f"jupyter-mlops: {row.name}: missing {', '.join(row.missing)}", err=True)
        click.echo(
            f"jupyter-mlops: error: {len(found.incomplete)} of {len(found.rows)} model(s) "
            "miss required inventory fields",
            err=True,
        )
        sys.exit(1)


@main.group()
def alias() -> None:
    """Move aliases with a recorded reason, and read their history (the alias ledger)."""


@alias.command("set")
@click.argument("model")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version")
@click.option("--reason", required=True, help="Why the alias moves (recorded in the ledger).")
@_tracking_uri_option
def alias_set(
    model: str, alias_name: str, version: str, reason: str, tracking_uri: str | None
) -> None:
    """Point ALIAS of MODEL at VERSION and record the move."""
    from jupyter_mlops.core.registry.alias_ledger import move_alias
    from jupyter_mlops.core.registry.register import RegistrationRequest

    RegistrationRequest(model, alias=alias_name).validated()
    if not (version.isascii() and version.isdigit()):  # "²".isdigit() is True
        raise click.UsageError(f"VERSION must be a version number, not {version!r}")
    client, _ = _registry(tracking_uri)
    entry = move_alias(client, model, alias_name, str(int(version)), reason=reason)
    click.echo(_describe_move(entry))


@alias.command("history")
@click.argument("model")
@click.option("--alias", "alias_name", default=None, help="Only this alias.")
@click.option("--at", default=None, metavar="ISO-TIME", help="Which version held the alias then.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@_tracking_uri_option
def alias_history(
    model: str, alias_name: str | None, at: str | None, as_json: bool, tracking_uri: str | None
) -> None:
    """Print the recorded alias moves of MODEL, oldest first (or the state at --at)."""
    import json

    from jupyter_mlops.core.registry.alias_ledger import aliases_at, ledger_entries, parse_time

    moment = parse_time(at) if at is not None else None
    client, _ = _registry(tracking_uri)
    entries = ledger_entries(client, model, alias_name)
    if moment is not None:
        held = aliases_at(entries, moment, alias_name)
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "model": model,
                        "at": moment.isoformat(),
                        "aliases": {a: (e.to_version if e else None) for a, e in held.items()},
                        "entries": {a: (e.to_dict() if e else None) for a, e in held.items()},
                    },
                    indent=2,
                )
            )
            return
        if not held:
            click.echo(f"{model}: no alias moves recorded")
        for name, entry in held.items():
            if entry is None:
                click.echo(f"{model}@{name} at {moment.isoformat()}: no version (not yet set)")
            else:
                click.echo(
                    f"{model}@{name} at {moment.isoformat()}: version {entry.to_version} "
                    f"(since {entry.time}, {entry.actor}: {entry.reason})"
                )
        return
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if not entries:
        scope = f"alias {alias_name!r} of " if alias_name else ""
        click.echo(f"no alias moves recorded for {scope}{model}")
        return
    rows = [("time (UTC)", "alias", "from", "to", "action", "actor", "reason")] + [
        (e.time, e.alias, e.from_version or "-", e.to_version, e.action, e.actor, e.reason)
        for e in entries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, row[-1]]))
        if index == 0:
            click.echo("  ".join(["-" * w for w in widths] + ["-" * 6]))


@main.command()
@click.argument("model")
@click.option(
    "--alias", "alias_name", default="champion", show_default=True, help="The alias to move back."
)
@click.option("--reason", required=True, help="Why (recorded in the ledger).")
@_tracking_uri_option
def rollback(model: str, alias_name: str, reason: str, tracking_uri: str | None) -> None:
    """Move ALIAS back to the version it held before its last move, and record it."""
    from jupyter_mlops.core.registry.alias_ledger import rollback as roll_back

    client, _ = _registry(tracking_uri)
    entry = roll_back(client, model, alias_name, reason=reason)
    click.echo("Rolled back: " + _describe_move(entry))


def _describe_move(entry: Any) -> str:
    was = f"version {entry.from_version}" if entry.from_version else "nothing"
    return (
        f"{entry.model}@{entry.alias}: {was} -> version {entry.to_version} "
        f"(recorded {entry.time} by {entry.actor})"
    )


class _RunsGroup(click.Group):
    """``runs [NOTEBOOK]`` lists runs; ``runs compare|delete ...`` dispatch to those commands.

    The first argument is a subcommand's name or else the NOTEBOOK of the (hidden) ``list``.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else ""
        if first not in self.commands and first not in ctx.help_option_names:
            named = first and not first.startswith("-") and not Path(first).suffix
            if named and not Path(first).exists():  # a mistyped command, not a notebook
                raise click.UsageError(
                    f"no such command or notebook {first!r}; commands: "
                    f"{', '.join(self.list_commands(ctx))}, or a NOTEBOOK path",
                    ctx,
                )
            args = ["list", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, command in self.commands.items() if not command.hidden]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        path = ctx.command_path
        formatter.write_usage(
            path, "[NOTEBOOK] [--limit N] [--json] [--experiment NAME] [--tracking-uri URI]"
        )
        formatter.write_usage(path, "compare RUN_ID RUN_ID... [--json]", prefix="       ")
        formatter.write_usage(path, "delete RUN_ID... [--yes] [--force]", prefix="       ")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.commands["list"].format_options(ctx, formatter)
        self.format_commands(ctx, formatter)


@main.group(cls=_RunsGroup)
def runs() -> None:
    """List a notebook's runs (newest first, the table %mlops runs shows); without NOTEBOOK,
    every run of the resolved experiment. `runs compare` and `runs delete` take run ids or
    unique prefixes of them (at least 6 hex digits)."""


@runs.command("list", hidden=True)
@click.argument("notebook", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--limit", type=int, default=20, show_default=True, metavar="N", help="How many runs."
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option(
    "--experiment",
    default=None,
    metavar="NAME",
    help="Experiment to read [default: as %mlops init resolves it for NOTEBOOK].",
)
@_tracking_uri_option
def runs_list(
    notebook: Path | None,
    limit: int,
    as_json: bool,
    experiment: str | None,
    tracking_uri: str | None,
) -> None:
    """List NOTEBOOK's runs, newest first (all runs of the experiment without NOTEBOOK)."""
    from jupyter_mlops.core.views.listed_runs import list_runs

    listing = list_runs(
        notebook, cwd=Path.cwd(), tracking_uri=tracking_uri, experiment=experiment, limit=limit
    )
    click.echo(listing.to_json() if as_json else listing.to_text())


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID RUN_ID...")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@_tracking_uri_option
def runs_compare(run_ids: tuple[str, ...], as_json: bool, tracking_uri: str | None) -> None:
    """Show runs side by side: source (notebook, cell, commit), params, metrics and data
    fingerprints; rows whose values differ are marked with *."""
    from jupyter_mlops.core.views.run_comparison import compare_runs

    client, store = _registry(tracking_uri)
    comparison = compare_runs(client, run_ids, store)
    click.echo(comparison.to_json() if as_json else comparison.to_text())


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed without a TTY).")
@click.option(
    "--force", is_flag=True, help="Also delete runs that registered model versions came from."
)
@_tracking_uri_option
def runs_delete(run_ids: tuple[str, ...], yes: bool, force: bool, tracking_uri: str | None) -> None:
    """Soft-delete runs (restorable with `mlflow runs restore`). Every run is checked first:
    a run that a registered version came from is refused unless --force, and then none is
    deleted."""
    from jupyter_mlops.core.registry.run_deletion import DeletionPlan, delete_runs

    def confirm(plan: DeletionPlan) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.UsageError(
                "standard input is not a terminal: pass --yes to delete without confirmation"
            )
        click.echo(f"Soft-deleting from {store}:")
        for line in plan.lines():
            click.echo(line)
        return click.confirm(f"Delete {len(plan.runs)} run(s)?", default=False)

    client, store = _registry(tracking_uri)
    result = delete_runs(client, run_ids, store, force=force, confirm=confirm)
    if not result.deleted:
        click.echo("jupyter-mlops: nothing deleted", err=True)
        sys.exit(1)
    click.echo(result.to_text())


@main.group()
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
    written = write_workflow(notebook, schedule=schedule, output=_writable(output))
    click.echo(f"wrote {written.path}")
    click.echo(written.summary)
