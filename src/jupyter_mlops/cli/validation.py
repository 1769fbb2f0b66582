"""``jupyter-mlops validate`` (a registered version against the champion, under a policy) and
``jupyter-mlops promote`` (move an alias only after a passed validation)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jupyter_mlops.cli.options import registry, tracking_uri_option


@click.command()
@click.argument("ref", metavar="MODEL/VERSION")
@click.option(
    "--data",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Evaluation data, .csv or .parquet (the same rows score both models).",
)
@click.option("--target", required=True, help="The label column of --data.")
@click.option(
    "--against", default="champion", show_default=True, help="The alias of the incumbent."
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML policy [default: [tool.jupyter-mlops.models.<MODEL>] in pyproject.toml].",
)
@click.option(
    "--gate",
    "gates",
    multiple=True,
    metavar="GATE",
    help="A gate such as 'roc_auc>=0.7' or 'roc_auc>=champion-0.005' (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision record as JSON.")
@tracking_uri_option
def validate(
    ref: str,
    data: Path,
    target: str,
    against: str,
    policy_file: Path | None,
    gates: tuple[str, ...],
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Validate MODEL/VERSION against the champion and record the decision.

    Exit codes: 0 every gate passed (or nothing was gated, which is said), 3 a gate failed,
    1 an error, 2 a usage error.
    """
    from jupyter_mlops.core.gates.validation import validate_version

    result = validate_version(
        ref,
        data,
        target,
        against=against,
        policy_file=policy_file,
        gates=gates,
        tracking_uri=tracking_uri,
    )
    click.echo(result.decision.to_json() if as_json else result.to_text(), nl=not as_json)
    sys.exit(result.exit_code)


@click.command()
@click.argument("ref", metavar="MODEL/VERSION")
@click.option("--alias", "alias_name", required=True, help="The alias to move (e.g. champion).")
@click.option("--reason", default=None, help="Why (recorded in the ledger with the evidence).")
@click.option(
    "--override",
    is_flag=True,
    help="Move it even without a passed validation (needs --reason; recorded as an override).",
)
@tracking_uri_option
def promote(
    ref: str, alias_name: str, reason: str | None, override: bool, tracking_uri: str | None
) -> None:
    """Point ALIAS at MODEL/VERSION if it passed validation against the alias's version now.

    Refused with exit code 3 otherwise (validate first, or again if the champion changed).
    """
    from jupyter_mlops.core.gates.promotion import promote as promote_version
    from jupyter_mlops.core.registry.refs import parse_model_ref

    model_ref = parse_model_ref(ref)
    if model_ref.version is None:
        raise click.UsageError(f"expected MODEL/VERSION, got {ref!r}")
    client, _ = registry(tracking_uri)
    done = promote_version(
        client, model_ref.name, model_ref.version, alias_name, reason=reason, override=override
    )
    click.echo(done.describe())
