"""``%mlops register`` (a new model version with its lineage) and ``%mlops lineage``."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_mlops.core.capture.target import session_target, warn
from jupyter_mlops.core.registry.lineage.graph import LineageGraph, build_lineage
from jupyter_mlops.core.registry.refs import parse_model_ref
from jupyter_mlops.core.registry.register import RegistrationRequest, TrainingData, register_from
from jupyter_mlops.core.store.active_run import active_run_id
from jupyter_mlops.magics.base import Call, Subcommand, variable
from jupyter_mlops.magics.cell import describe_line

__all__ = ["LINEAGE", "REGISTER"]


@magic_arguments(name="mlops register")
@argument("var", metavar="VAR", help="variable holding a fitted scikit-learn estimator/Pipeline")
@argument("--name", required=True, metavar="MODEL", help="registered model name")
@argument("--alias", help="point this alias (e.g. champion) at the new version")
@argument("--owner", help="accountable owner (inventory field)")
@argument("--purpose", help="what the model is for (inventory field)")
@argument("--risk-tier", choices=["1", "2", "3"], help="model risk tier, 1 = highest")
@argument("--data", metavar="DF_VAR", help="training DataFrame (default: the run's training data)")
@argument("--reason", help="why the alias moves (recorded in the alias ledger)")
def _register_args(line: str) -> None:
    """%mlops register: log VAR into the run that produced it and register a new version."""


def _register(call: Call) -> None:
    args, namespace = call.args, call.shell.user_ns
    model = variable(namespace, args.var, "VAR")
    data = None
    if args.data is not None:
        data = TrainingData(args.data, variable(namespace, args.data, "--data"))
    source = call.tracker.source_of("%mlops") or f"%mlops register {args.var}"
    registration = register_from(
        session_target(namespace=namespace, cell_source=source),
        model,
        RegistrationRequest(
            args.name, args.alias, args.owner, args.purpose, args.risk_tier, args.reason
        ),
        variable=args.var,
        code=describe_line(call.shell, call.tracker, source),
        namespace=namespace,
        data=data,
        warn=warn,
        active_run_id=active_run_id(),  # refused while recorded; never the source
    )
    print(registration.summary())


@magic_arguments(name="mlops lineage")
@argument("ref", metavar="MODEL[@ALIAS|/VERSION]", help="the model version to trace")
def _lineage_args(line: str) -> None:
    """%mlops lineage: show data -> run -> version -> sibling versions as a graph."""


def _lineage(call: Call) -> LineageGraph:
    return build_lineage(session_target().client, parse_model_ref(call.args.ref))


REGISTER = Subcommand(_register_args, _register)
LINEAGE = Subcommand(_lineage_args, _lineage)
