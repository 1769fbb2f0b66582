"""Which notebook is running, which of its cells is executing, and a safe snapshot of it.

A kernel does not know its notebook. We ask, in order:

1. an explicit path (``%mlops init --notebook`` / ``notebook=``);
2. ``JUPYTER_MLOPS_NOTEBOOK`` in the environment (set by our own job runner and demo);
3. papermill or nbconvert: the input notebook on the command line of the ``papermill`` or
   ``jupyter nbconvert --execute`` process that started this kernel;
4. Jupyter Server: ``JPY_SESSION_NAME``, the session path given to kernels it starts;
5. VS Code: ``__vsc_ipynb_file__`` in the user namespace;
6. a Python script run as ``python train.py`` (``sys.argv[0]``): it anchors the project root
   and names the experiment the way a notebook would;
7. a search of the working directory for the one notebook holding the running cell's source
   (papermill's Python API; a papermill output notebook points back to its input).

Everything here takes plain values (environment mapping, namespace, paths) so it can be tested
without a kernel.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.core.config import NOTEBOOK_ENV
from jupyter_mlops.core.redaction import redact_papermill, redact_text

__all__ = [
    "NotebookLocation",
    "discover_notebook",
    "find_cell_id",
    "notebook_snapshot",
    "redacted_notebook_text",
    "script_file",
]

_SEARCH_LIMIT = 200
_SEARCH_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class NotebookLocation:
    """A discovered notebook (``path`` None when unknown) and how it was found."""

    path: Path | None
    # argument | environment | papermill | nbconvert | jupyter-server | vscode | script |
    # search | none
    found_by: str


def discover_notebook(
    *,
    explicit: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    namespace: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    cell_source: str | None = None,
    parent_pid: int | None = None,
    main_script: str | None = None,
) -> NotebookLocation:
    """Find the notebook this kernel runs, trying each documented source in order.

    Returns:
        The location; ``NotebookLocation(None, "none")`` when nothing matched.

    Raises:
        FileNotFoundError: when ``explicit`` names a file that does not exist.
    """
    environment = os.environ if env is None else env
    here = (cwd or Path.cwd()).resolve()
    if explicit is not None:
        path = (here / Path(explicit).expanduser()).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"notebook {path} does not exist")
        return NotebookLocation(path, "argument")
    launcher, launched = _launcher_input(os.getppid() if parent_pid is None else parent_pid)
    candidates: list[tuple[str, Path | None]] = [
        ("environment", _existing(environment.get(NOTEBOOK_ENV), here)),
        (launcher, launched),
        ("jupyter-server", _session_path(environment.get("JPY_SESSION_NAME"), here)),
        ("vscode", _existing(_str((namespace or {}).get("__vsc_ipynb_file__")), here)),
        ("script", script_file(_program() if main_script is None else main_script, here)),
    ]
    for found_by, candidate in candidates:
        if candidate is not None:
            return NotebookLocation(candidate, found_by)
    if cell_source:
        found = _search_by_source(here, cell_source)
        if found is not None:
            return NotebookLocation(found, "search")
    return NotebookLocation(None, "none")


def find_cell_id(notebook: Path, source: str) -> str | None:
    """Return the nbformat id of the one code cell of ``notebook`` whose source is ``source``.

    Returns None when the file cannot be read, has no cell ids (nbformat < 4.5), or no cell, or
    more than one cell, matches (then we cannot tell which one ran).
    """
    ids = _cells_by_source(notebook).get(_normalise(source), [])
    return ids[0] if len(ids) == 1 else None


def notebook_snapshot(notebook: Path) -> str | None:
    """Return the saved notebook as JSON text with secrets masked in sources and outputs.

    Returns None when the file cannot be read as a notebook. Cached on the file's mtime and
    size: cells run far more often than notebooks are saved.
    """
    try:
        stat = notebook.stat()
    except OSError:
        return None
    key = (notebook, stat.st_mtime_ns, stat.st_size)
    if _SNAPSHOT_CACHE.get("key") != key:
        _SNAPSHOT_CACHE.update(key=key, text=redacted_notebook_text(notebook))
    text = _SNAPSHOT_CACHE["text"]
    return text if isinstance(text, str) else None


_SNAPSHOT_CACHE: dict[str, object] = {}


def redacted_notebook_text(notebook: Path) -> str | None:
    """The notebook file as JSON text with secrets masked in sources and text outputs; None
    when it cannot be read as a notebook."""
    document = _load(notebook)
    if document is None:
        return None
    redact_papermill(document)  # an executed job: its parameters metadata and injected cell
    for cell in document.get("cells", []):
        cell["source"] = redact_text(_joined(cell.get("source", "")))
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = redact_text(_joined(output["text"]))
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") or mime == "application/json":
                    output["data"][mime] = redact_text(_joined(value))
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _existing(value: str | None, here: Path) -> Path | None:
    if not value:
        return None
    path = (here / Path(value).expanduser()).resolve()
    return path if path.is_file() else None


def _program() -> str:
    """``sys.argv[0]``, unless the process hosts an IPython shell: then code comes from its
    cells, not from the program that started it."""
    return "" if getattr(builtins, "__IPYTHON__", False) else sys.argv[0]


def script_file(value: str, here: Path | None = None) -> Path | None:
    """``value`` as a user's Python script, or None when it is not one: not a ``.py`` file,
    an installed tool's file (kernel launcher, ``python -m`` entry, site-packages), or the
    temporary file a Jupyter kernel compiles a cell into."""
    path = _existing(value, (here or Path.cwd()).resolve()) if value.endswith(".py") else None
    if path is None or {"site-packages", "dist-packages"} & set(path.parts):
        return None
    if path.parent.name.startswith("ipykernel_"):
        return None
    return None if path.name in ("ipykernel_launcher.py", "__main__.py") else path


def _session_path(value: str | None, here: Path) -> Path | None:
    """Resolve ``JPY_SESSION_NAME``: absolute, or relative to the server root (an ancestor)."""
    if not value or not value.endswith(".ipynb"):
        return None
    path = Path(value)
    if path.is_absolute():
        return path if path.is_file() else None
    for folder in (here, *here.parents):
        if (folder / path).is_file():
            return (folder / path).resolve()
    return None


_NBCONVERT_OUTPUT_OPTIONS = frozenset({"--output", "--output-dir"})


def _launcher_input(pid: int) -> tuple[str, Path | None]:
    """The input notebook of ``papermill IN OUT ...`` or of ``jupyter nbconvert --execute IN``
    when that process (``pid``) started this kernel, and which of the two it was."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return "papermill", None
    args = [a.decode(errors="replace") for a in argv if a]
    programs = [Path(a).name for a in args[:3]]
    if any(p.startswith("papermill") for p in programs):
        notebooks = [a for a in args if a.endswith(".ipynb")][:1]  # IN comes before OUT
        return "papermill", _one_notebook(cwd, notebooks)
    if any(p.startswith("jupyter-nbconvert") or p == "nbconvert" for p in programs):
        inputs = [
            a
            for before, a in zip(["", *args], args, strict=False)
            if a.endswith(".ipynb")
            and before not in _NBCONVERT_OUTPUT_OPTIONS
            and not a.startswith("-")
        ]
        return "nbconvert", _one_notebook(cwd, inputs)  # several inputs: cannot tell which
    return "papermill", None


def _one_notebook(cwd: Path, candidates: list[str]) -> Path | None:
    if len(candidates) != 1:
        return None
    path = (cwd / candidates[0]).resolve()
    return path if path.is_file() else None


def _search_by_source(folder: Path, cell_source: str) -> Path | None:
    wanted = _normalise(cell_source)
    matches: set[Path] = set()
    try:
        candidates = sorted(folder.glob("*.ipynb"))[:_SEARCH_LIMIT]
    except OSError:
        return None
    for candidate in candidates:
        if not candidate.is_file() or candidate.stat().st_size > _SEARCH_MAX_BYTES:
            continue
        if wanted in _cells_by_source(candidate):
            matches.add(_papermill_origin(candidate) or candidate)
    return matches.pop() if len(matches) == 1 else None


def _papermill_origin(output: Path) -> Path | None:
    """For a papermill output notebook, the input notebook it was made from (if it exists)."""
    document = _load(output)
    meta = (document or {}).get("metadata", {}).get("papermill", {})
    origin = meta.get("input_path") if isinstance(meta, dict) else None
    if not isinstance(origin, str):
        return None
    path = (output.parent / origin).resolve()
    return path if path.is_file() and path != output.resolve() else None


_CELL_CACHE: dict[Path, tuple[tuple[int, int], dict[str, list[str]]]] = {}


def _cells_by_source(notebook: Path) -> dict[str, list[str]]:
    """Map normalised code-cell source to cell ids; cached on the file's mtime and size."""
    try:
        stat = notebook.stat()
    except OSError:
        return {}
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _CELL_CACHE.get(notebook)
    if cached is not None and cached[0] == key:
        return cached[1]
    index: dict[str, list[str]] = {}
    for cell in (_load(notebook) or {}).get("cells", []):
        if cell.get("cell_type") == "code":
            cell_id = cell.get("id")
            index.setdefault(_normalise(_joined(cell.get("source", ""))), []).append(
                cell_id if isinstance(cell_id, str) else ""
            )
    index = {source: [i for i in ids if i] or [] for source, ids in index.items()}
    _CELL_CACHE[notebook] = (key, index)
    return index


def _load(notebook: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _joined(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.replace("\r\n", "\n").strip().splitlines())
