"""The job contract a notebook carries: ``metadata.jupyter_mlops.job``.

It names the job, its typed parameters (read from the cell tagged ``parameters``), the
experiment its runs go to and the model it registers. ``job init`` writes it; ``run``, ``job
show`` and ``job ci`` read it. A notebook without a contract (one written for papermill by
someone else) gets one inferred from its parameters cell, so every command works on it.

Notebooks are read and written with nbformat; writes go to a temporary file in the same
folder that then replaces the notebook, so a crash never leaves half a notebook, and cell ids
and outputs are kept.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.parameters.cell import is_plain_assignments, read_parameter_cell
from jupyter_mlops.core.jobs.parameters.declare import (
    declaration_name,
    declare_in_cell,
    parse_declaration,
)
from jupyter_mlops.core.jobs.parameters.reassignment import Reassignment, find_reassignments
from jupyter_mlops.core.jobs.parameters.values import ParameterSpec, format_value

__all__ = [
    "CONTRACT_SCHEMA",
    "METADATA_KEY",
    "JobContract",
    "JobInit",
    "init_job",
    "job_contract",
    "read_notebook",
    "write_notebook",
]

METADATA_KEY = "jupyter_mlops"  # notebook.metadata[METADATA_KEY]["job"]
CONTRACT_SCHEMA = "jupyter-mlops/job/1"
PARAMETERS_TAG = "parameters"  # papermill's tag


@dataclass(frozen=True)
class JobContract:
    """What a notebook job is: name, typed parameters, experiment and model.

    ``declared`` is False when nothing was stored and the contract was inferred;
    ``notes`` say where the stored contract and the parameters cell disagree; ``warnings``
    what could not be read; ``reassignments`` the parameters a later cell binds again.
    """

    name: str
    parameters: tuple[ParameterSpec, ...] = ()
    experiment: str | None = None
    model: str | None = None
    parameters_cell: str | None = None  # cell id (None for notebooks without ids)
    declared: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    reassignments: tuple[Reassignment, ...] = field(default=(), compare=False)

    def parameter(self, name: str) -> ParameterSpec | None:
        """The parameter called ``name``, if there is one."""
        return next((p for p in self.parameters if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored in the notebook (schema ``jupyter-mlops/job/1``)."""
        return {
            "schema": CONTRACT_SCHEMA,
            "name": self.name,
            "experiment": self.experiment,
            "model": self.model,
            "parameters_cell": self.parameters_cell,
            "parameters": [p.to_dict() for p in self.parameters],
        }

    @classmethod
    def from_dict(cls, data: Any, *, notebook: Path) -> JobContract:
        """Read a stored contract.

        Raises:
            MlopsError: USAGE when it is malformed (hand-edited metadata).
        """
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise MlopsError(
                f"{notebook.name}: metadata.{METADATA_KEY}.job is not a job contract; "
                "run `jupyter-mlops job init` to rewrite it",
                ErrorCode.USAGE,
            )
        entries = data.get("parameters") or []
        if not isinstance(entries, list):
            raise MlopsError(
                f"{notebook.name}: job contract parameters must be a list", ErrorCode.USAGE
            )
        return cls(
            name=data["name"],
            parameters=tuple(ParameterSpec.from_dict(e) for e in entries),
            experiment=_optional_str(data.get("experiment")),
            model=_optional_str(data.get("model")),
            parameters_cell=_optional_str(data.get("parameters_cell")),
            declared=True,
        )

    def to_text(self) -> str:
        """Human-readable contract for ``job show``."""
        origin = (
            "declared in the notebook"
            if self.declared
            else "inferred from the parameters cell: no job contract"
        )
        lines = [
            f"job         : {self.name}  ({origin})",
            f"experiment  : {self.experiment or '(the notebook default)'}",
            f"model       : {self.model or '-'}",
            f"parameters  : {len(self.parameters) or 'none'}",
        ]
        if self.parameters:
            rows = [("name", "type", "default", "help")] + [
                (
                    p.name,
                    p.declared_type,
                    f"= {p.expression}" if p.expression else format_value(p.python_default()),
                    p.help,
                )
                for p in self.parameters
            ]
            widths = [max(len(r[i]) for r in rows) for i in range(3)]
            for row in rows:
                cells = [c.ljust(w) for c, w in zip(row[:3], widths, strict=True)]
                lines.append("  " + "  ".join([*cells, row[3]]).rstrip())
        lines.extend(f"note        : {note}" for note in self.notes)
        lines.extend(f"warning     : {warning}" for warning in self.all_warnings())
        return "\n".join(lines)

    def all_warnings(self) -> list[str]:
        """What could not be read, then each reassigned parameter, one line each."""
        return [*self.warnings, *(r.describe() for r in self.reassignments)]

    def to_report(self) -> dict[str, Any]:
        """``job show --json``: the contract, whether it is stored, its warnings and the
        reassigned parameters."""
        return {
            **self.to_dict(),
            "declared": self.declared,
            "warnings": self.all_warnings(),
            "reassignments": [r.to_dict() for r in self.reassignments],
        }


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# -- reading -------------------------------------------------------------------------------


def read_notebook(path: Path) -> Any:
    """Read a notebook with nbformat (version 4).

    Raises:
        MlopsError: USAGE when it does not exist or is not a notebook (a bad input either way).
    """
    import nbformat

    if not path.is_file():
        raise MlopsError(f"notebook {path} does not exist", ErrorCode.USAGE)
    try:
        return nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat raises JSON, validation and version errors
        raise MlopsError(
            f"{path} is not a readable notebook: {str(exc).splitlines()[0] if str(exc) else exc}",
            ErrorCode.USAGE,
        ) from exc


def parameters_cell_index(notebook: Any) -> int | None:
    """Index of the first cell tagged ``parameters``, None when there is none."""
    for index, cell in enumerate(notebook.cells):
        if PARAMETERS_TAG in (cell.get("metadata", {}).get("tags") or []):
            return index
    return None


def job_contract(path: Path, notebook: Any | None = None) -> JobContract:
    """The notebook's job contract: the stored one, checked against the parameters cell, or
    one inferred from that cell when nothing is stored.

    The parameters cell is the truth for which parameters exist (papermill injects after
    it); the stored contract for their types and help. Disagreements become ``notes``.

    Raises:
        MlopsError: USAGE as :func:`read_notebook`, and for a malformed contract.
    """
    notebook = read_notebook(path) if notebook is None else notebook
    index = parameters_cell_index(notebook)
    in_cell, warnings = (
        read_parameter_cell(_source(notebook.cells[index])) if index is not None else ([], [])
    )
    cell_id = notebook.cells[index].get("id") if index is not None else None
    if index is not None and not in_cell:
        warnings.append(
            f"the parameters cell (cell {index + 1}) declares no parameter that can be read: "
            "write one `name = value` per line"
        )
    if index is None:
        warnings.append(
            "no cell is tagged `parameters`, so the job takes none; to declare some, tag a cell "
            "of `name = value` lines `parameters` or run `jupyter-mlops job init --param "
            "NAME=DEFAULT`"
        )
    stored = (notebook.metadata.get(METADATA_KEY) or {}).get("job")
    if stored is None:
        contract = JobContract(
            name=_default_name(path), parameters=tuple(in_cell), parameters_cell=cell_id
        )
    else:
        contract = _checked(JobContract.from_dict(stored, notebook=path), in_cell, cell_id)
    reassigned = (
        find_reassignments(notebook.cells, index, [p.name for p in contract.parameters])
        if index is not None
        else []
    )
    return replace(contract, warnings=tuple(warnings), reassignments=tuple(reassigned))


def _checked(
    contract: JobContract, in_cell: Sequence[ParameterSpec], cell_id: str | None
) -> JobContract:
    """The stored contract with the parameters the cell declares, and notes where they
    disagree."""
    declared = {p.name: p for p in contract.parameters}
    notes: list[str] = []
    merged: list[ParameterSpec] = []
    for found in in_cell:
        spec = declared.get(found.name)
        if spec is None:
            notes.append(
                f"parameter {found.name!r} is in the parameters cell but not in the contract "
                f"(typed {found.type} from the cell); run `jupyter-mlops job init` to update it"
            )
            merged.append(found)
        else:
            merged.append(replace(spec, default=found.default, expression=found.expression))
    for name in declared.keys() - {p.name for p in in_cell}:
        notes.append(
            f"parameter {name!r} is in the contract but not in the parameters cell; it is ignored"
        )
    return replace(contract, parameters=tuple(merged), parameters_cell=cell_id, notes=tuple(notes))


def _default_name(path: Path) -> str:
    return path.stem.replace("_", "-")


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


# -- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobInit:
    """What ``job init`` did: the contract written and a line per change."""

    contract: JobContract
    changes: tuple[str, ...]


def init_job(
    path: Path,
    *,
    name: str | None = None,
    declarations: Sequence[str] = (),
    model: str | None = None,
    experiment: str | None = None,
) -> JobInit:
    """Make ``path`` a job: ensure a ``parameters`` cell and store the contract.

    The parameters cell is the cell tagged ``parameters``; else the first code cell made only
    of literal assignments (see :func:`is_plain_assignments`) is adopted (tagged); else, when
    ``declarations`` are given, a new cell is created before the first code cell. Each
    declaration (``NAME[:TYPE]=DEFAULT``, see :func:`parse_declaration`) replaces the
    assignment of an existing parameter (its comment kept) or is appended.
    Options not given keep their stored values.

    Raises:
        MlopsError: USAGE for an invalid declaration, job or model name; USAGE as
            :func:`read_notebook`. Nothing is written then.
    """
    notebook = read_notebook(path)
    changes: list[str] = []
    previous = job_contract(path, notebook)
    specs = [
        parse_declaration(text, previous.parameter(declaration_name(text))) for text in declarations
    ]
    for value, what in ((name, "job name"), (model, "model name")):
        if value is not None and (not value.strip() or "/" in value or value != value.strip()):
            raise MlopsError(
                f"{what} {value!r} must be non-empty, without '/' or surrounding spaces",
                ErrorCode.USAGE,
            )
    index = parameters_cell_index(notebook)
    if index is None:
        index = _adopt_or_create(notebook, specs, changes)
    if index is not None and specs:
        cell = notebook.cells[index]
        cell["source"] = declare_in_cell(_source(cell), specs, changes)
    contract = job_contract(path, _without_contract(notebook))
    contract = replace(
        contract,
        name=name or (previous.name if previous.declared else contract.name),
        model=model if model is not None else previous.model,
        experiment=experiment if experiment is not None else previous.experiment,
        parameters=tuple(
            _keep_declared_type(spec, previous, specs) for spec in contract.parameters
        ),
        declared=True,
        notes=(),
    )
    notebook.metadata.setdefault(METADATA_KEY, {})["job"] = contract.to_dict()
    changes.append(
        f"wrote the job contract {contract.name!r} ({len(contract.parameters)} parameter(s)) "
        f"to metadata.{METADATA_KEY}.job"
    )
    write_notebook(notebook, path)
    return JobInit(contract, tuple(changes))


def _without_contract(notebook: Any) -> Any:
    import copy

    clone = copy.deepcopy(notebook)
    (clone.metadata.get(METADATA_KEY) or {}).pop("job", None)
    return clone


def _keep_declared_type(
    spec: ParameterSpec, previous: JobContract, declarations: Sequence[ParameterSpec]
) -> ParameterSpec:
    """A type stored earlier (e.g. ``float`` for ``C = 1``) survives re-inference from the
    cell unless this call declares the parameter again."""
    if any(d.name == spec.name for d in declarations):
        return spec
    stored = previous.parameter(spec.name) if previous.declared else None
    if stored is None or stored.type == spec.type:
        return spec
    return replace(spec, type=stored.type, nullable=stored.nullable)


def _adopt_or_create(
    notebook: Any, declarations: Sequence[ParameterSpec], changes: list[str]
) -> int | None:
    import nbformat

    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") == "code" and is_plain_assignments(_source(cell)):
            cell.setdefault("metadata", {}).setdefault("tags", []).append(PARAMETERS_TAG)
            changes.append(f"tagged cell {index + 1} (plain assignments) as the parameters cell")
            return index
    if not declarations:
        changes.append(
            "no parameters cell and no --param: the job takes no parameters (no cell is made "
            "only of literal assignments such as `alpha = 0.5`; tag one `parameters` or pass "
            "--param NAME=DEFAULT)"
        )
        return None
    cell = nbformat.v4.new_code_cell(  # type: ignore[no-untyped-call]
        source="", metadata={"tags": [PARAMETERS_TAG]}
    )
    if (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) < (4, 5):
        cell.pop("id", None)  # cell ids exist from nbformat 4.5 on
    first_code = next(
        (i for i, c in enumerate(notebook.cells) if c.get("cell_type") == "code"),
        len(notebook.cells),
    )
    notebook.cells.insert(first_code, cell)
    changes.append(f"created a parameters cell at position {first_code + 1}")
    return first_code


def write_notebook(notebook: Any, path: Path) -> None:
    """Write ``notebook`` to ``path`` atomically (temporary file, then rename), keeping the
    file's permissions.

    Raises:
        MlopsError: USAGE when nbformat rejects the notebook; INTERNAL when it cannot be
            written (the original is untouched).
    """
    import nbformat

    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise MlopsError(
            f"refusing to write {path.name}: not a valid notebook ({exc.message})",
            ErrorCode.USAGE,
        ) from exc
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            nbformat.write(notebook, stream)  # type: ignore[no-untyped-call]
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise MlopsError(f"cannot write {path}: {exc}", ErrorCode.INTERNAL) from exc
    except (TypeError, ValueError) as exc:  # a value JSON cannot hold
        Path(temporary).unlink(missing_ok=True)
        raise MlopsError(
            f"refusing to write {path.name}: it holds a value JSON cannot store ({exc})",
            ErrorCode.USAGE,
        ) from exc
