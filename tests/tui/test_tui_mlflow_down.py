"""MLflow unreachable at start, and going away while the app runs: the app stays up, says so
in the status bar, retries, and everything that does not need MLflow keeps working."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tui_data import screen_text, wait_for

from ame_core.net import free_port
from ame_tui.screens.models import ModelsView
from ame_tui.screens.runs import RunsView

SIZE = (140, 36)


async def test_unreachable_at_start(demo) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    app = demo.app(tracking_uri=uri)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "not answering" in app.mlflow_state, what="status")
        assert "MLflow UI http://127.0.0.1" in screen_text(app)
        assert "✖ not answering" in screen_text(app)
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ModelsView) and app.screen.error,
            what="models say why",
        )
        # the backend still works: runs are listed
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and app.runs)
        assert "train-004" in screen_text(app)


@pytest.mark.slow
async def test_server_goes_away_and_comes_back(demo, tmp_path: Path) -> None:
    port = free_port()
    store = tmp_path / "server"
    store.mkdir()
    env = dict(
        os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true"
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    mlflow_bin = shutil.which("mlflow", path=env["PATH"])

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                mlflow_bin,
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{store / 'mlflow.db'}",
                "--default-artifact-root",
                (store / "artifacts").as_uri(),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                return proc
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("mlflow server exited") from None
                time.sleep(0.5)
        raise RuntimeError("mlflow server did not start")

    def stop(proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)

    server = start()
    try:
        app = demo.app(tracking_uri=f"http://127.0.0.1:{port}")
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.mlflow_state == "ok", what="ok at start")
            await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
            stop(server)
            app.screen.refresh_data()  # the next poll notices; do not wait 3 s for it
            await wait_for(pilot, lambda: app.mlflow_state != "ok", timeout=60, what="noticed")
            assert "✖" in screen_text(app)
            await pilot.press("3")  # the rest keeps working
            await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and app.runs)
            server = start()
            await wait_for(pilot, lambda: app.mlflow_state == "ok", timeout=90, what="back")
    finally:
        if server.poll() is None:
            stop(server)
