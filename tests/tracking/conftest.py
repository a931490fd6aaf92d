"""Fixtures of the tracking tests: one never-used project whose local MLflow server is started
by four `ame task run` at once (the session's one server), stopped at teardown."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from tracking_support import Project  # noqa: E402


class Started:
    """The project and what the four concurrent first runs printed."""

    def __init__(self, project: Project, results: list[tuple[int, str, str]]) -> None:
        self.project = project
        self.results = results


@pytest.fixture(scope="session")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    from ame_core import tracking_server

    project = Project(tmp_path_factory.mktemp("tracking"))
    procs = [project.popen("task", "run", "hello") for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, out, err))
    try:
        yield Started(project, results)
    finally:
        tracking_server.stop_all_under(project.root)


@pytest.fixture(scope="session")
def project(started: Started) -> Project:
    return started.project
