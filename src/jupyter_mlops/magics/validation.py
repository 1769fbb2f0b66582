"""``%mlops validate``: a registered version against the champion on the notebook's data."""

from __future__ import annotations

from pathlib import Path

from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_mlops.core.capture.target import session_target
from jupyter_mlops.core.gates.validation import Validation, validate_frames
from jupyter_mlops.magics.base import Call, Subcommand, variable

__all__ = ["VALIDATE"]


@magic_arguments(name="mlops validate")
@argument("ref", metavar="MODEL/VERSION", help="the registered challenger version")
@argument("--data", required=True, metavar="X_VAR", help="DataFrame of evaluation rows")
@argument("--target", required=True, metavar="Y_VAR", help="the evaluation labels, row for row")
@argument("--against", default="champion", help="alias of the incumbent (default: champion)")
@argument(
    "--sensitive",
    metavar="DF_OR_COLS",
    help="DataFrame variable of sensitive attributes, or comma-separated columns of --data",
)
@argument("--policy", metavar="FILE", help="YAML policy (default: pyproject.toml's)")
@argument("--gate", action="append", default=[], help="a gate, e.g. 'roc_auc>=0.7' (repeatable)")
def _validate_args(line: str) -> None:
    """%mlops validate: compare MODEL/VERSION with the champion on the same rows, record the
    decision (gate table and plots shown inline)."""


def _validate(call: Call) -> Validation:
    args, namespace = call.args, call.shell.user_ns
    features = variable(namespace, args.data, "--data")
    labels = variable(namespace, args.target, "--target")
    sensitive: object = None
    if args.sensitive:
        if args.sensitive.isidentifier() and args.sensitive in namespace:
            sensitive = namespace[args.sensitive]
        else:
            sensitive = [c.strip() for c in args.sensitive.split(",") if c.strip()]
    target = session_target(namespace=namespace)
    return validate_frames(
        target.client,
        target.settings.tracking_uri,
        args.ref,
        features,
        labels,
        against=args.against,
        policy_file=Path(args.policy) if args.policy else None,
        gates=args.gate,
        sensitive=sensitive,
    )


VALIDATE = Subcommand(_validate_args, _validate)
