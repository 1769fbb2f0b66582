"""``%mlops init`` (where runs go) and ``%mlops runs`` (this notebook's runs)."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_mlops.core.capture.session import describe_target
from jupyter_mlops.core.capture.target import init_target, session_target
from jupyter_mlops.core.views.run_list import RunList, notebook_runs
from jupyter_mlops.magics.base import Call, Subcommand

__all__ = ["INIT", "RUNS"]


@magic_arguments(name="mlops init")
@argument(
    "--tracking-uri", help="MLflow tracking URI (overrides MLFLOW_TRACKING_URI and pyproject.toml)"
)
@argument("--experiment", help="experiment name (default: the notebook's file name)")
@argument("--notebook", help="path of this notebook, when it cannot be discovered")
def _init_args(line: str) -> None:
    """%mlops init: choose where runs go and print what was resolved."""


def _init(call: Call) -> None:
    target = init_target(
        tracking_uri=call.args.tracking_uri,
        experiment=call.args.experiment,
        notebook=call.args.notebook,
        namespace=call.shell.user_ns,
        cell_source=call.tracker.source_of("%mlops"),
    )
    print(describe_target(target))


@magic_arguments(name="mlops runs")
@argument("--limit", type=int, default=None, help="how many runs to show (default 20)")
def _runs_args(line: str) -> None:
    """%mlops runs: show this notebook's runs, newest first."""


def _runs(call: Call) -> RunList:
    limit = call.runs_limit if call.args.limit is None else call.args.limit
    return notebook_runs(session_target(), limit)


INIT = Subcommand(_init_args, _init)
RUNS = Subcommand(_runs_args, _runs)
