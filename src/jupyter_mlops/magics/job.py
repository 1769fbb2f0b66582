"""``%mlops job``: make this notebook a typed, parameterised job."""

from __future__ import annotations

from IPython.core.magic_arguments import argument, magic_arguments

from jupyter_mlops.core.capture.target import session_notebook
from jupyter_mlops.core.jobs.contract import init_job
from jupyter_mlops.magics.base import Call, Subcommand

__all__ = ["JOB"]


@magic_arguments(name="mlops job")
@argument("--name", help="job name (default: the notebook's name)")
@argument(
    "--param",
    action="append",
    default=[],
    metavar="NAME[:TYPE]=DEFAULT",
    help="declare or change a parameter (repeatable); TYPE: int, float, str, bool, list, "
    "dict, date, datetime",
)
@argument("--model", help="the registered model the job produces")
@argument("--experiment", help="experiment of the job's runs")
@argument("--notebook", help="path of this notebook, when it cannot be discovered")
def _job_args(line: str) -> None:
    """%mlops job: make this notebook a typed, parameterised job (jupyter-mlops run)."""


def _job(call: Call) -> None:
    args = call.args
    notebook = session_notebook(
        args.notebook,
        namespace=call.shell.user_ns,
        cell_source=call.tracker.source_of("%mlops"),
    )
    result = init_job(
        notebook,
        name=args.name,
        declarations=args.param,
        model=args.model,
        experiment=args.experiment,
    )
    for change in result.changes:
        print(f"- {change}")
    print(result.contract.to_text())
    print(
        "The notebook file was rewritten: reload it (File > Reload Notebook from Disk) "
        "before saving, or the save will overwrite the job contract."
    )


JOB = Subcommand(_job_args, _job)
