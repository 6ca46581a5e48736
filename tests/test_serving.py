"""What `demarche serve` does to a worker beyond create_app: the collector's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_server_worker_freezes_startup_and_collects_less_often(tmp_path):
    # In a child process: freezing is process-wide, and the test process must keep its own.
    code = (
        "import gc, json; from app.main import serve_app; "
        "before = gc.get_threshold(); app = serve_app(); "
        "print(json.dumps({'before': before, 'after': gc.get_threshold(), "
        "'frozen': gc.get_freeze_count(), 'title': app.title}))"
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["title"] == "Demarche Tracker"
    assert seen["before"] == [700, 10, 10]  # CPython's defaults, for contrast
    assert seen["after"] == [20_000, 20, 10]
    assert seen["frozen"] > 10_000  # the modules, mappers and routes built at start-up
