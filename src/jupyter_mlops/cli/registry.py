"""Reading the model registry: ``lineage`` and ``inventory``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jupyter_mlops.cli.options import registry, tracking_uri_option, writable


@click.command()
@click.argument("ref", metavar="MODEL[@ALIAS|/VERSION]")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the graph as JSON (documented schema)."
)
@tracking_uri_option
def lineage(ref: str, as_json: bool, tracking_uri: str | None) -> None:
    """Show where a model version came from: data -> run -> version -> sibling versions."""
    from jupyter_mlops.core.registry.lineage.graph import build_lineage
    from jupyter_mlops.core.registry.refs import parse_model_ref

    parsed = parse_model_ref(ref)
    client, _ = registry(tracking_uri)
    graph = build_lineage(client, parsed)
    click.echo(graph.to_json() if as_json else graph.to_text())


@click.command()
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
@tracking_uri_option
def inventory(fmt: str, strict: bool, output: Path | None, tracking_uri: str | None) -> None:
    """List every registered model with its inventory fields (PRA SS1/23)."""
    from jupyter_mlops.core.registry.inventory import build_inventory

    output = writable(output)
    client, store = registry(tracking_uri)
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
