"""End to end with the real local backend on a copy of examples/quickstart: from the TUI, train
the model and quit while it trains (the flow finishes without the console, validation included),
reopen it and see the new version with its metric and verdict, deploy it, send a smoke request
and see predictions, see the live monitoring flag a shifted feature and open its report,
undeploy."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input
from tui_data import screen_text, wait_for

from ame_tui.screens.deployments import DeploymentsView
from ame_tui.screens.dialogs import ConfirmScreen, SmokeScreen
from ame_tui.screens.models import ModelsView
from ame_tui.screens.monitor_report import MonitorReportScreen

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900.0  # the first run builds the quickstart's !pip environment


@pytest.fixture(scope="session")
def ame_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = os.environ.get("AME_TEST_CACHE_DIR")
    if shared:
        return Path(shared)
    # The same folder as the lifecycle tests: one `!pip` environment for the session.
    cache = tmp_path_factory.getbasetemp() / "quickstart-env-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture
def quickstart_env(tmp_path: Path, ame_cache: Path):
    project = tmp_path / "quickstart"
    shutil.copytree(
        REPO / "examples" / "quickstart",
        project,
        ignore=shutil.ignore_patterns(".ame", ".venv", "mlruns", "mlflow.db"),
    )
    text = (project / "ame.yml").read_text()
    (project / "ame.yml").write_text(text.replace("autoDeploy: true", "autoDeploy: false"))
    saved = dict(os.environ)
    os.environ.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        MLFLOW_DISABLE_TELEMETRY="true",
        AME_CACHE_DIR=str(ame_cache),
        AME_CONFIG_DIR=str(tmp_path / "config"),
    )
    for key in ("MLFLOW_TRACKING_URI", "AME_BACKEND", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(key, None)
    try:
        yield project
    finally:
        from ame_core import tracking_server

        tracking_server.stop(project)  # the project's local MLflow server, if a test started it
        os.environ.clear()
        os.environ.update(saved)


def _rows(app) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _send_shifted(url: str, rows: int = 300) -> None:
    """Requests whose `mean radius` is 5 standard deviations off, the rest as in training."""
    import json
    import urllib.request

    from sklearn.datasets import load_breast_cancer

    frame, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    sent = frame.sample(rows, replace=True, random_state=3).reset_index(drop=True)
    sent["mean radius"] += 5 * frame["mean radius"].std()
    for start in range(0, rows, 20):
        chunk = sent.iloc[start : start + 20]
        body = {"dataframe_split": {"columns": list(chunk.columns), "data": chunk.values.tolist()}}
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200


def _flow_ids(project: Path) -> set[str]:
    folder = project / ".ame" / "flows"
    return {f.stem for f in folder.glob("flow-*.json")} if folder.is_dir() else set()


@pytest.mark.slow
@pytest.mark.timeout(2400)
async def test_train_quit_then_validate_deploy_smoke_undeploy(quickstart_env: Path) -> None:
    import asyncio
    import json

    from ame_core.flows import control
    from ame_core.runtime.local import LocalBackend
    from ame_core.tracking import tracking_uri_for
    from ame_tui.app import AmeApp
    from ame_tui.services.context import AppContext

    project = quickstart_env
    backend = LocalBackend(project)
    ctx = AppContext(
        project_dir=project.resolve(),
        project_file=project / "ame.yml",
        tracking_uri=tracking_uri_for(project),
        backend_factory=lambda: backend,
    )
    store = backend.flow_store()

    # train, then quit while the training runs: the console quits at once, the flow goes on
    app = AmeApp(ctx)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
        assert "no versions yet" in screen_text(app)
        await pilot.press("t")
        await wait_for(pilot, lambda: _flow_ids(project), what="the train flow")
        (flow_id,) = _flow_ids(project)
        records = project / ".ame" / "flows"
        await wait_for(
            pilot,
            lambda: json.loads((records / f"{flow_id}.json").read_text())["steps"][0]["run_id"],
            timeout=RUN_TIMEOUT,
            what="the training run",
        )
        await pilot.press("q")
        for _ in range(50):
            if not app.is_running:
                break
            await asyncio.sleep(0.1)
        assert not app.is_running, "q asked something instead of quitting"
    flow = await asyncio.to_thread(control.wait, store, flow_id, backend, RUN_TIMEOUT)
    assert flow.status.value == "succeeded", flow.reason
    assert flow.step("validate").result["verdict"] == "passed"  # every new version is judged
    assert flow.step("deploy").status.value == "skipped"  # autoDeploy is off here

    app = AmeApp(ctx)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            # the new version with its metric and the verdict its flow recorded
            await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
            await wait_for(pilot, lambda: _rows(app) and _rows(app)[0][1] == "v1", what="v1")
            assert "accuracy=0.9" in _rows(app)[0][4]
            assert "✔ passed" in _rows(app)[0][5]

            # deploy it: lands on the deployments view, which shows it ready
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView))
            await wait_for(
                pilot,
                lambda: _rows(app) and _rows(app)[0][2] == "ready",
                timeout=300,
                what="endpoint ready",
            )

            # the smoke request with the model's input example
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SmokeScreen))
            smoke = app.screen
            await wait_for(pilot, lambda: smoke.query_one(Input).value, timeout=120, what="example")
            await pilot.press("enter")
            await wait_for(pilot, lambda: smoke.result is not None, timeout=120, what="answer")
            assert smoke.result.ok and "predictions" in smoke.result.answer
            await pilot.press("escape")
            await wait_for(pilot, lambda: "predictions" in screen_text(app), what="answer shown")

            # live monitoring: the DRIFT column names the shifted feature, enter opens the report
            url = app.screen.endpoints[0].url
            await asyncio.to_thread(_send_shifted, url)
            await wait_for(
                pilot,
                lambda: _rows(app) and _rows(app)[0][6] == "drift: mean radius",
                timeout=90,
                what="the drift verdict in the table",
            )
            assert float(_rows(app)[0][3]) > 0 and _rows(app)[0][4] == "0.0%"
            assert "drift: 1 of 30 features (3%): mean radius" in screen_text(app)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, MonitorReportScreen))
            report_screen = app.screen
            await wait_for(pilot, lambda: report_screen.query_one(DataTable).row_count == 30)
            radius = report_screen.query_one(DataTable).get_row("mean radius")
            assert str(radius[5]) == "yes" and str(radius[1]) == "ks"
            texture = report_screen.query_one(DataTable).get_row("mean texture")
            assert str(texture[5]) == "no"
            assert "the training run's ame-reference/ (426 rows)" in screen_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView))

            # undeploy
            await pilot.press("u")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "nothing is served" in screen_text(app), timeout=120)
    finally:
        from ame_core.runtime.backend import RunContext

        context = RunContext(project.resolve(), "quickstart", ctx.tracking_uri)
        if backend.endpoint("logreg", context) is not None:
            backend.undeploy("logreg", context)
