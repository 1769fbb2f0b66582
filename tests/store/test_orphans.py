"""Runs left open by a process that died are marked killed by the next session."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jupyter_mlops
from support.runs import artifact_text, only_run


def test_run_of_a_killed_kernel_is_marked_killed_by_the_next_session(
    tracking_uri, client, tmp_path
):
    script = textwrap.dedent(
        f"""
        import os
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "jupyter_mlops")
        ip.run_line_magic("mlops", "init --tracking-uri {tracking_uri} --experiment tests")
        ip.run_cell("%%mlops run --name doomed --no-autolog\\nimport os\\nos._exit(3)")
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert died.returncode == 3, died.stderr
    assert only_run(client).info.status == "RUNNING"
    jupyter_mlops.init(tracking_uri=tracking_uri, experiment="tests")
    run = only_run(client)
    assert run.info.status == "KILLED"
    assert run.data.tags["mlops.error.type"] == "KernelDied"
    assert f"process {run.data.tags['mlops.pid']}" in run.data.tags["mlops.error.message"]
    cell = artifact_text(client, run.info.run_id, "code/cell.py")
    assert cell.startswith("%%mlops run --name doomed")  # written when the run started
