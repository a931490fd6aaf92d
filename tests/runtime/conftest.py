"""The runtime tests' shared project: one copy of `project/` in a temp dir, real processes, a
real sqlite MLflow store under its `.ame/`, secret store and environment cache in temp dirs."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

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
    # Stop anything a failed test left running.
    for record in (root / "project" / ".ame" / "runs").glob("*.json"):
        data = json.loads(record.read_text())
        pgid = data.get("extra", {}).get("child_pgid")
        if pgid and data.get("status") in ("running", "queued"):
            try:
                os.killpg(pgid, 9)
            except OSError:
                pass
