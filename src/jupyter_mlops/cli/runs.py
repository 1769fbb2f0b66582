"""``runs [NOTEBOOK]``, ``runs compare`` and ``runs delete``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jupyter_mlops.cli.options import registry, tracking_uri_option


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


@click.group(cls=_RunsGroup)
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
@tracking_uri_option
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
@tracking_uri_option
def runs_compare(run_ids: tuple[str, ...], as_json: bool, tracking_uri: str | None) -> None:
    """Show runs side by side: source (notebook, cell, commit), params, metrics and data
    fingerprints; rows whose values differ are marked with *."""
    from jupyter_mlops.core.views.run_comparison import compare_runs

    client, store = registry(tracking_uri)
    comparison = compare_runs(client, run_ids, store)
    click.echo(comparison.to_json() if as_json else comparison.to_text())


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed without a TTY).")
@click.option(
    "--force", is_flag=True, help="Also delete runs that registered model versions came from."
)
@tracking_uri_option
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

    client, store = registry(tracking_uri)
    result = delete_runs(client, run_ids, store, force=force, confirm=confirm)
    if not result.deleted:
        click.echo("jupyter-mlops: nothing deleted", err=True)
        sys.exit(1)
    click.echo(result.to_text())
