"""The runtime tests' shared project: one copy of `project/` in a temp dir, real processes, the
project's local MLflow server (its store under `.ame/`, stopped at the end), secret store and
environment cache in temp dirs."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import HERE, Env


@pytest.fixture(scope="session")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("runtime")
    shutil.copytree(HERE / "project", root / "project")
    env = Env(root)
    # The first run creates the MLflow store with the MLflow client (seconds): do it once here.
    first = env.ame("task", "run", "hello")
    assert first.returncode == 0, first.stderr
    yield env
    from ame_core import tracking_server

    tracking_server.stop_all_under(root)  # the project's local MLflow server
    # Stop anything a failed test left running.
    for record in (root / "project" / ".ame" / "runs").glob("*.json"):
        data = json.loads(record.read_text())
        pgid = data.get("extra", {}).get("child_pgid")
        if pgid and data.get("status") in ("running", "queued"):
            try:
                os.killpg(pgid, 9)
            except OSError:
                pass


@pytest.fixture(autouse=True)
def _stop_local_servers(tmp_path: Path) -> Iterator[None]:
    """A test that runs a task in a project of its own gets that project's local MLflow
    server: stop it when the test ends."""
    yield
    from ame_core import tracking_server

    tracking_server.stop_all_under(tmp_path)
