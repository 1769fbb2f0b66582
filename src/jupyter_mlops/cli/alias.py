"""Moving aliases through the alias ledger: ``alias set``, ``alias history`` and ``rollback``."""

from __future__ import annotations

import click

from jupyter_mlops.cli.options import registry, tracking_uri_option


@click.group()
def alias() -> None:
    """Move aliases with a recorded reason, and read their history (the alias ledger)."""


@alias.command("set")
@click.argument("model")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version")
@click.option("--reason", required=True, help="Why the alias moves (recorded in the ledger).")
@tracking_uri_option
def alias_set(
    model: str, alias_name: str, version: str, reason: str, tracking_uri: str | None
) -> None:
    """Point ALIAS of MODEL at VERSION and record the move."""
    from jupyter_mlops.core.registry.alias_ledger import check_move, move_alias
    from jupyter_mlops.core.registry.refs import NotAVersionNumber

    try:
        check_move(model, alias_name, version)  # before the store is opened
    except NotAVersionNumber:
        raise click.UsageError(f"VERSION must be a version number, not {version!r}") from None
    client, _ = registry(tracking_uri)
    entry = move_alias(client, model, alias_name, version, reason=reason)
    click.echo(entry.describe())


@alias.command("history")
@click.argument("model")
@click.option("--alias", "alias_name", default=None, help="Only this alias.")
@click.option("--at", default=None, metavar="ISO-TIME", help="Which version held the alias then.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@tracking_uri_option
def alias_history(
    model: str, alias_name: str | None, at: str | None, as_json: bool, tracking_uri: str | None
) -> None:
    """Print the recorded alias moves of MODEL, oldest first (or the state at --at)."""
    from jupyter_mlops.core.registry.alias_history import alias_history as read_history
    from jupyter_mlops.core.registry.alias_ledger import parse_time

    moment = parse_time(at) if at is not None else None
    client, _ = registry(tracking_uri)
    history = read_history(client, model, alias_name, at=moment)
    click.echo(history.to_json() if as_json else history.to_text())


@click.command()
@click.argument("model")
@click.option(
    "--alias", "alias_name", default="champion", show_default=True, help="The alias to move back."
)
@click.option("--reason", required=True, help="Why (recorded in the ledger).")
@tracking_uri_option
def rollback(model: str, alias_name: str, reason: str, tracking_uri: str | None) -> None:
    """Move ALIAS back to the version it held before its last move, and record it."""
    from jupyter_mlops.core.registry.alias_ledger import rollback as roll_back

    client, _ = registry(tracking_uri)
    entry = roll_back(client, model, alias_name, reason=reason)
    click.echo("Rolled back: " + entry.describe())
