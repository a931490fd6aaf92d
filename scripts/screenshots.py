"""The README screenshots of `ame tui`, made from the deterministic test data (fixed clock, the
test double of the backend, a real MLflow sqlite store): docs/images/tui-models.svg,
docs/images/tui-run-detail.svg and docs/images/tui-run-metrics.svg.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "tui"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

OUT = REPO / "docs" / "images"
SIZE = (130, 32)


async def until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the app did not get there in time")
        await pilot.pause(0.05)


async def main() -> None:
    from tui_data import build_demo, make_context

    from ame_tui.app import AmeApp
    from ame_tui.widgets.log_view import LogView
    from ame_tui.widgets.metric_chart import MetricChart

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ame-shots-") as tmp:
        project, backend = build_demo(Path(tmp) / "demo")
        app = AmeApp(make_context(project, backend), start_view="runs")
        app.animation_level = "none"
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.runs and app.mlflow_state == "ok")
            await pilot.press("2")
            await until(pilot, lambda: getattr(app.screen, "loaded", False))
            await pilot.pause(0.5)
            app.save_screenshot("tui-models.svg", str(OUT))

            app.open_run("train-004")
            await until(pilot, lambda: app.screen.query(LogView))
            view = app.screen.query_one(LogView)
            await until(pilot, lambda: view.line_count == 5 and app.screen.record is not None)
            await pilot.pause(0.5)
            app.save_screenshot("tui-run-detail.svg", str(OUT))

            await pilot.press("m")
            chart = app.screen.query_one(MetricChart)
            await until(pilot, lambda: bool(chart.histories))
            await pilot.pause(0.5)
            app.save_screenshot("tui-run-metrics.svg", str(OUT))
    for name in ("tui-models.svg", "tui-run-detail.svg", "tui-run-metrics.svg"):
        print(OUT / name)


if __name__ == "__main__":
    asyncio.run(main())
