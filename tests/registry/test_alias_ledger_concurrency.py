"""A burst of alias moves from several processes at once: the ledger chain stays true.

Real writer processes against one real SQLite store: every entry's "from" must be the version
the previous entry set (the version the alias really held when that move replaced it), and a
rollback must return to the version held before the last move.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from jupyter_mlops.core.registry.alias_ledger import ledger_entries, move_alias, rollback

MODEL = "burst"
WRITERS = 6
MOVES = 15

WRITER = """
import sys, time
from pathlib import Path
from mlflow import MlflowClient
from jupyter_mlops.core.registry.alias_ledger import move_alias

uri, who, count, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
client = MlflowClient(uri)
client.get_registered_model("burst")  # connected before the start signal
(folder / f"ready-{who}").touch()
deadline = time.monotonic() + 120
while not (folder / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.001)
for i in range(count):
    move_alias(client, "burst", "champion", str(1 + (i + int(who)) % 4), reason=f"{who}/{i}")
"""


@pytest.mark.slow
def test_a_burst_of_moves_keeps_a_true_chain_and_rollback_follows_it(
    client: MlflowClient, tracking_uri: str, tmp_path: Path
) -> None:
    client.create_registered_model(MODEL)
    for number in range(1, 5):
        folder = tmp_path / "models" / str(number)
        folder.mkdir(parents=True)
        client.create_model_version(MODEL, source=folder.as_uri())
    move_alias(client, MODEL, "champion", "1", reason="first release")
    started = time.monotonic()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tracking_uri, str(n), str(MOVES), str(tmp_path)],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    try:
        deadline = time.monotonic() + 180
        while not all((tmp_path / f"ready-{n}").exists() for n in range(WRITERS)):
            assert all(w.poll() is None for w in writers), [w.communicate() for w in writers]
            assert time.monotonic() < deadline, "writers did not start"
            time.sleep(0.02)
        (tmp_path / "go").touch()
        ended = [w.communicate(timeout=180) for w in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    assert [w.returncode for w in writers] == [0] * WRITERS, [err for _, err in ended]

    entries = ledger_entries(client, MODEL, "champion")
    assert len(entries) == 1 + WRITERS * MOVES
    broken = [
        (before.to_version, after.from_version, after.reason)
        for before, after in itertools.pairwise(entries)
        if after.from_version != before.to_version
    ]
    assert not broken, f"{len(broken)} of {len(entries) - 1} entries break the chain: {broken[:5]}"
    assert str(client.get_registered_model(MODEL).aliases["champion"]) == entries[-1].to_version

    back = rollback(client, MODEL, "champion", reason="undo the last move")
    assert back.from_version == entries[-1].to_version
    assert back.to_version == entries[-1].from_version
    assert str(client.get_registered_model(MODEL).aliases["champion"]) == entries[-1].from_version
    print(f"{WRITERS} writers x {MOVES} moves in {time.monotonic() - started:.1f} s")
