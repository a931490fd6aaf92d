"""Fixtures of the TUI tests: a real MLflow sqlite store filled once per session (copied for
each test) and a fresh test-double backend per test."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from tui_data import (  # noqa: E402
    FakeBackend,
    fill_backend,
    fill_mlflow,
    make_context,
    tracking_uri,
    write_project,
)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tui-demo")
    project = write_project(root / "quickstart")
    runs = fill_mlflow(project)
    (root / "runs.json").write_text(json.dumps(runs))
    return root


class Demo:
    def __init__(self, project: Path, backend: FakeBackend, runs: dict[str, str]) -> None:
        self.project = project
        self.backend = backend
        self.runs = runs

    def app(self, read_only: bool = False, start_view: str | None = None, config=None, **ctx_kw):
        from ame_tui.app import AmeApp

        ctx = make_context(self.project, self.backend, read_only=read_only)
        for key, value in ctx_kw.items():
            setattr(ctx, key, value)
        app = AmeApp(ctx, config, start_view=start_view)
        app.animation_level = "none"  # a snapshot must not catch a tab underline mid-slide
        return app


@pytest.fixture
def demo(tmp_path: Path, demo_template: Path):
    # same path length for every test: the project directory name is what the app shows
    project = tmp_path / "quickstart"
    shutil.copytree(demo_template / "quickstart", project)
    runs = json.loads((demo_template / "runs.json").read_text())
    backend = FakeBackend(tmp_path / "logs")
    fill_backend(backend, runs)
    flows = backend.use_flows(project, tracking_uri(project))
    yield Demo(project, backend, runs)
    flows.stop()  # flows a test left going: their runs never end by themselves
