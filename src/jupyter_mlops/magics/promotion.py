"""``%mlops promote``: move an alias to a version that passed validation against it."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_mlops.core.capture.target import session_target
from jupyter_mlops.core.gates.promotion import promote
from jupyter_mlops.core.registry.refs import parse_model_ref
from jupyter_mlops.magics.base import Call, Subcommand

__all__ = ["PROMOTE"]


@magic_arguments(name="mlops promote")
@argument("ref", metavar="MODEL/VERSION", help="the validated version")
@argument("--to", required=True, metavar="ALIAS", help="the alias to move (e.g. champion)")
@argument("--reason", help="why (recorded in the alias ledger with the evidence)")
@argument(
    "--override", action="store_true", help="move without a passed validation (needs --reason)"
)
def _promote_args(line: str) -> None:
    """%mlops promote: point ALIAS at MODEL/VERSION if it passed validation against the
    alias's current version (refused otherwise; --override --reason records an override)."""


def _promote(call: Call) -> None:
    args = call.args
    ref = parse_model_ref(args.ref)
    if ref.version is None:
        raise UsageError(f"expected MODEL/VERSION, got {args.ref!r}")
    client = session_target(namespace=call.shell.user_ns).client
    done = promote(
        client, ref.name, ref.version, args.to, reason=args.reason, override=args.override
    )
    print(done.describe())


PROMOTE = Subcommand(_promote_args, _promote)
