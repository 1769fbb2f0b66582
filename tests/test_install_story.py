"""The install story of issue 5: installing the package is all a user does.

The labextension is built by the Python build (hatch-jupyter-builder runs npm), the install
puts it where JupyterLab looks and enables the server extension; ``jupyter labextension list``
and ``jupyter server extension list`` say so. The wheel carries both, so users need no Node.js.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _jupyter(*args: str) -> str:
    done = subprocess.run(
        [str(BIN / "jupyter"), *args], capture_output=True, text=True, timeout=120, check=True
    )
    return _ANSI.sub("", done.stdout + done.stderr)


def test_labextension_is_listed_enabled_ok():
    listing = _jupyter("labextension", "list")
    assert re.search(r"jupyter-mlops v0\.1\.0 enabled OK \(python, jupyter-mlops\)", listing), (
        listing
    )


def test_server_extension_is_listed_enabled():
    listing = _jupyter("server", "extension", "list")
    assert re.search(r"jupyter_mlops enabled", listing), listing
    assert re.search(r"jupyter_mlops 0\.1\.0 OK", listing), listing


def test_installed_labextension_is_a_production_build_of_our_package():
    prefix = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyter-mlops"
    meta = json.loads((prefix / "package.json").read_text(encoding="utf-8"))
    assert meta["name"] == "jupyter-mlops"
    assert meta["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert (prefix / "static" / "style.js").is_file()
    source = json.loads((ROOT / "labextension" / "package.json").read_text(encoding="utf-8"))
    assert meta["version"] == source["version"]


@pytest.mark.slow
def test_typescript_unit_tests_pass():
    """The API layer's TypeScript tests (node's own runner), from the npm project."""
    folder = ROOT / "labextension"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not (folder / "node_modules").is_dir():  # a wheel-less checkout: install first
        subprocess.run(["npm", "install"], cwd=folder, check=True, env=env, timeout=600)
    done = subprocess.run(
        ["npm", "test"], cwd=folder, capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert re.search(r"# pass [1-9]", done.stdout), done.stdout[-2000:]
    assert "# fail 0" in done.stdout, done.stdout[-2000:]


@pytest.mark.slow
def test_wheel_carries_the_prebuilt_panel_and_the_server_config(tmp_path: Path):
    """``pip wheel .`` runs the npm build and packs its output as shared data."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    (wheel,) = tmp_path.glob("jupyter_mlops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "jupyter_mlops-0.1.0.data/data/"
    lab = data + "share/jupyter/labextensions/jupyter-mlops/"
    assert lab + "package.json" in names
    assert lab + "install.json" in names
    assert lab + "static/style.js" in names
    assert any(n.startswith(lab + "static/remoteEntry.") for n in names)
    assert data + "etc/jupyter/jupyter_server_config.d/jupyter_mlops.json" in names
    assert "jupyter_mlops/server/__init__.py" in names
    # no TypeScript sources, node modules or test builds in the wheel
    assert not any("node_modules" in n or n.endswith(".ts") for n in names)


@pytest.mark.skipif(
    os.environ.get("CI") != "true", reason="meaningful on CI's clean clone (CI=true)"
)
def test_install_leaves_the_clone_as_it_was():
    """``pip install -e .`` (npm builds the panel) must not change a tracked file: a dirty tree
    marks the first model a newcomer registers ``mlops.git.dirty=true``."""
    done = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    dirty = [line for line in done.stdout.splitlines() if line.strip()]
    assert not dirty, "the install changed the clone:\n" + "\n".join(dirty)
