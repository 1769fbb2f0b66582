"""The panel's TypeScript passes Prettier and ESLint (the JupyterLab extension template's
``npm run lint:check``), like the API layer passes its unit tests (test_install_story.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_lint_check_passes() -> None:
    folder = ROOT / "labextension"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not (folder / "node_modules").is_dir():  # a wheel-less checkout: install first
        subprocess.run(["npm", "install"], cwd=folder, check=True, env=env, timeout=600)
    done = subprocess.run(
        ["npm", "run", "lint:check"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "All matched files use Prettier code style" in done.stdout, done.stdout[-2000:]
