"""IPython adapter: ``%mlops`` / ``%%mlops``. Parses input, makes one core call, renders.

Subcommands: ``init``, ``runs``, ``register`` and ``lineage`` (line), ``run`` (cell).
Every user mistake is a ``UsageError``: IPython prints one line and no traceback.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Int

from jupyter_mlops import fluent
from jupyter_mlops.core.capture.hidden_state import assess_notebook
from jupyter_mlops.core.capture.injected_parameters import injected_parameters
from jupyter_mlops.core.capture.record import CellCode, recording
from jupyter_mlops.core.capture.session import describe_target
from jupyter_mlops.core.errors import MlopsError
from jupyter_mlops.core.registry.register import RegistrationRequest, TrainingData, register_from
from jupyter_mlops.core.registry.run_models import log_run_models
from jupyter_mlops.ipython_cell import CellTracker, compile_body, describe_cell, running_count

__all__ = ["MlopsMagics", "load", "unload"]


@magic_arguments(name="mlops init")
@argument(
    "--tracking-uri", help="MLflow tracking URI (overrides MLFLOW_TRACKING_URI and pyproject.toml)"
)
@argument("--experiment", help="experiment name (default: the notebook's file name)")
@argument("--notebook", help="path of this notebook, when it cannot be discovered")
def _init_args(line: str) -> None:
    """%mlops init: choose where runs go and print what was resolved."""


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


@magic_arguments(name="mlops runs")
@argument("--limit", type=int, default=None, help="how many runs to show (default 20)")
def _runs_args(line: str) -> None:
    """%mlops runs: show this notebook's runs, newest first."""


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


@magic_arguments(name="mlops lineage")
@argument("ref", metavar="MODEL[@ALIAS|/VERSION]", help="the model version to trace")
def _lineage_args(line: str) -> None:
    """%mlops lineage: show data -> run -> version -> sibling versions as a graph."""


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


_SUBCOMMANDS = {
    "init": _init_args,
    "run": _run_args,
    "runs": _runs_args,
    "register": _register_args,
    "lineage": _lineage_args,
    "job": _job_args,
}


@magics_class
class MlopsMagics(Magics):
    """Settings are traitlets: ``%config MlopsMagics.autolog = False``."""

    autolog = Bool(
        True, help="Autolog scikit-learn in %%mlops run cells (--no-autolog per cell)."
    ).tag(config=True)
    runs_limit = Int(20, help="Default number of rows shown by %mlops runs.").tag(config=True)

    def __init__(self, shell: InteractiveShell, tracker: CellTracker) -> None:
        super().__init__(shell)
        self.tracker = tracker

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        __tracebackhide__ = True  # a failing cell's traceback shows the user's code, not ours
        subcommand, _, rest = line.strip().partition(" ")
        if not subcommand or subcommand.startswith("#"):  # bare `%mlops`: what can I type?
            print(_bare_help())
            return None
        if subcommand not in _SUBCOMMANDS:
            raise UsageError(
                f"unknown %mlops subcommand {subcommand!r}; use one of: {', '.join(_SUBCOMMANDS)}"
            )
        args = _parse(subcommand, rest)
        try:
            if subcommand == "run":
                if cell is None:
                    raise UsageError(
                        "run is a cell magic: put %%mlops run on the first line of the cell"
                    )
                return self._run(args, rest, cell)
            if cell is not None:
                raise UsageError(f"{subcommand} is a line magic: use %mlops {subcommand}")
            if subcommand == "init":
                target = fluent.init(
                    tracking_uri=args.tracking_uri,
                    experiment=args.experiment,
                    notebook=args.notebook,
                    namespace=self.shell.user_ns if self.shell else None,
                    cell_source=self.tracker.source_of("%mlops"),
                )
                print(describe_target(target))
                return None
            if subcommand == "register":
                return self._register(args)
            if subcommand == "lineage":
                return fluent.lineage(args.ref)
            if subcommand == "job":
                return self._job(args)
            return fluent.runs(self.runs_limit if args.limit is None else args.limit)
        except MlopsError as exc:
            raise UsageError(str(exc)) from None

    def _run(self, args: Any, line: str, body: str) -> Any:
        __tracebackhide__ = True
        shell = self.shell
        assert shell is not None  # set by Magics.__init__
        tags = dict(_tag(t) for t in args.tag)
        params, metrics = _names(args.params, "--params"), _names(args.metrics, "--metrics")
        models = _names(args.log_model, "--log-model")
        code = describe_cell(shell, self.tracker, line, body)
        try:
            compiled = compile_body(shell, body, code)
        except SyntaxError:
            shell.showsyntaxerror()  # exactly as IPython shows it for a plain cell
            raise UsageError(
                "the cell has a syntax error (above); nothing was run or recorded"
            ) from None
        namespace = shell.user_ns
        target = fluent.target(namespace=namespace, cell_source=code.source)
        hidden = assess_notebook(self.tracker.history(), target.notebook.path)
        with recording(
            target,
            code,
            namespace=namespace,
            params=params,
            metrics=metrics,
            injected=injected_parameters(namespace.get("In", [])),
            name=args.name,
            tags=tags,
            autolog=self.autolog and not args.no_autolog,
            system_tags=hidden.tags(),
            warn=fluent.warn,
        ) as capture:
            if (warning := hidden.warning()) is not None:
                fluent.warn(warning)
            result = compiled.run()
        if models and capture.result is not None and not capture.result.ended:
            fluent.warn(f"--log-model {', '.join(models)}: not logged, the store is unavailable")
        elif models:  # only after a cell that ran through: its run is ended and complete
            try:
                log_run_models(target.client, capture.run_id, models, namespace, fluent.warn)
            except MlopsError as exc:
                raise UsageError(f"{exc} (the run itself is recorded)") from None
        return result

    def _job(self, args: Any) -> None:
        shell = self.shell
        assert shell is not None
        result = fluent.job(
            name=args.name,
            params=args.param,
            model=args.model,
            experiment=args.experiment,
            notebook=args.notebook,
            namespace=shell.user_ns,
            cell_source=self.tracker.source_of("%mlops"),
        )
        for change in result.changes:
            print(f"- {change}")
        print(result.contract.to_text())
        print(
            "The notebook file was rewritten: reload it (File > Reload Notebook from Disk) "
            "before saving, or the save will overwrite the job contract."
        )

    def _register(self, args: Any) -> None:
        shell = self.shell
        assert shell is not None
        namespace = shell.user_ns
        model = _variable(namespace, args.var, "VAR")
        data = None
        if args.data is not None:
            data = TrainingData(args.data, _variable(namespace, args.data, "--data"))
        source = self.tracker.source_of("%mlops") or f"%mlops register {args.var}"
        target = fluent.target(namespace=namespace, cell_source=source)
        request = RegistrationRequest(
            args.name, args.alias, args.owner, args.purpose, args.risk_tier, args.reason
        )
        registration = register_from(
            target,
            model,
            request,
            variable=args.var,
            code=CellCode(
                source=source,
                python=shell.transform_cell(source),
                cell_id=self.tracker.cell_id,
                execution_count=running_count(shell, self.tracker.raw_cell),
            ),
            namespace=namespace,
            data=data,
            warn=fluent.warn,
            active_run_id=fluent.active_run_id(),  # refused while recorded; never the source
        )
        print(registration.summary())


def _variable(namespace: dict[str, Any], name: str, flag: str) -> Any:
    if not name.isidentifier():
        raise UsageError(f"{flag} expects a variable name, got {name!r}")
    if name not in namespace:
        raise UsageError(f"{flag}: name {name!r} is not defined in this notebook")
    return namespace[name]


def _parse(subcommand: str, rest: str) -> Any:
    """Parse flags shell-style, so ``--name "first try"``, ``--tag note="two words"`` and a
    trailing ``# comment`` work."""
    try:
        argv = shlex.split(rest, comments=True)  # `%mlops init  # note` works as in Python
    except ValueError as exc:
        raise UsageError(f"%mlops {subcommand}: {exc} in {rest!r}") from None
    parser = _SUBCOMMANDS[subcommand].parser
    parser.allow_abbrev = False  # --param must not silently mean --params
    return parser.parse_args(argv)


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--tag expects KEY=VALUE, got {text!r}")
    return key.strip(), value


def _names(text: str, flag: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if not name.isidentifier():
            raise UsageError(f"{flag} expects comma-separated variable names; {name!r} is not one")
    return names


def _help() -> str:
    sections = [
        "Capture notebook experiments in MLflow. Subcommands and their flags:\n",
        *((func.__doc__ or "").strip() + "\n" for func in _SUBCOMMANDS.values()),
    ]
    return "\n".join(sections)


_USAGE_WIDTH = 100  # fixed, so the usage does not depend on the terminal's COLUMNS


def usage() -> str:
    """The usage line of every subcommand, from the parsers (docs/getting-started.md shows
    it verbatim: ``python -m jupyter_mlops.magics`` prints it)."""
    blocks = []
    for func in _SUBCOMMANDS.values():
        parser = func.parser
        formatter = parser.formatter_class(prog=parser.prog, width=_USAGE_WIDTH)
        formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
        blocks.append(formatter.format_help().replace("::", "").strip("\n"))
    return "\n".join(blocks)


def _bare_help() -> str:
    return (
        "Capture notebook experiments in MLflow. Subcommands:\n"
        + usage()
        + "\n`%mlops?` describes every flag."
    )


MlopsMagics.mlops.__doc__ = _help()
_loaded: dict[int, tuple[MlopsMagics, CellTracker]] = {}


def load(shell: InteractiveShell) -> None:
    """Register the magics and the cell tracker on ``shell`` (idempotent)."""
    unload(shell)
    tracker = CellTracker()
    tracker.register(shell)
    magics = MlopsMagics(shell, tracker)
    shell.register_magics(magics)
    configurables: list[Any] = shell.configurables
    configurables.append(magics)
    _loaded[id(shell)] = (magics, tracker)


def unload(shell: InteractiveShell) -> None:
    """Remove the cell tracker and configurable installed by :func:`load`."""
    magics, tracker = _loaded.pop(id(shell), (None, None))
    if tracker is not None:
        tracker.unregister(shell)
    configurables: list[Any] = shell.configurables
    if magics is not None and magics in configurables:
        configurables.remove(magics)


if __name__ == "__main__":  # pragma: no cover - `python -m jupyter_mlops.magics`
    print(usage())
