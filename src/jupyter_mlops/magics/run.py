"""``%%mlops run``: execute the cell as IPython would and record it as one MLflow run."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_mlops.core.capture.injected_parameters import injected_parameters
from jupyter_mlops.core.capture.record import record_cell
from jupyter_mlops.core.capture.target import warn
from jupyter_mlops.core.errors import MlopsError
from jupyter_mlops.core.registry.run_models import log_run_models
from jupyter_mlops.magics.base import Call, Subcommand, names, tag
from jupyter_mlops.magics.cell import compile_body, describe_cell

__all__ = ["RUN"]


@magic_arguments(name="%mlops run")  # shown as %%mlops run: a cell magic
@argument("--name", help="run name (default: <notebook>-cell<execution count>)")
@argument("--params", default="", help="comma-separated variables to record as params")
@argument("--metrics", default="", help="comma-separated numeric variables to record as metrics")
@argument(
    "--tag", action="append", default=[], metavar="KEY=VALUE", help="tag the run (repeatable)"
)
@argument("--no-autolog", action="store_true", help="do not autolog scikit-learn in this cell")
@argument(
    "--log-model",
    default="",
    metavar="VAR[,VAR]",
    help="log these fitted scikit-learn models with the run (register them later, e.g. from "
    "the MLOps panel)",
)
def _run_args(line: str) -> None:
    """%%mlops run: execute the cell and record it as one MLflow run."""


def run_cell(call: Call) -> Any:
    """Run the body; return its trailing expression's value (IPython shows it as ``Out``)."""
    __tracebackhide__ = True  # a failing cell's traceback shows the user's code, not ours
    shell, args, body = call.shell, call.args, call.body or ""
    tags = dict(tag(t) for t in args.tag)
    params, metrics = names(args.params, "--params"), names(args.metrics, "--metrics")
    models = names(args.log_model, "--log-model")
    code = describe_cell(shell, call.tracker, call.line, body)
    try:
        compiled = compile_body(shell, body, code)
    except SyntaxError:
        shell.showsyntaxerror()  # exactly as IPython shows it for a plain cell
        raise UsageError(
            "the cell has a syntax error (above); nothing was run or recorded"
        ) from None
    namespace = shell.user_ns
    with record_cell(
        code,
        namespace=namespace,
        cell_source=code.source,
        history=call.tracker.history(),
        params=params,
        metrics=metrics,
        injected=injected_parameters(namespace.get("In", [])),
        name=args.name,
        tags=tags,
        autolog=call.autolog and not args.no_autolog,
    ) as capture:
        result = compiled.run()
    if models and capture.result is not None and not capture.result.ended:
        warn(f"--log-model {', '.join(models)}: not logged, the store is unavailable")
    elif models:  # only after a cell that ran through: its run is ended and complete
        try:
            log_run_models(capture.target.client, capture.run_id, models, namespace, warn)
        except MlopsError as exc:
            raise UsageError(f"{exc} (the run itself is recorded)") from None
    return result


RUN = Subcommand(_run_args, run_cell, cell=True)
