"""The README screenshots of `ame tui`, made from the deterministic test data (fixed clock, the
test double of the backend, a real MLflow sqlite store): docs/images/tui-models.svg,
tui-run-detail.svg, tui-run-metrics.svg, tui-compare.svg and tui-compare-charts.svg (two runs
compared), tui-json-log.svg (a log of JSON lines, shown readable).

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
NAMES = (
    "tui-models.svg",
    "tui-run-detail.svg",
    "tui-run-metrics.svg",
    "tui-compare.svg",
    "tui-compare-charts.svg",
    "tui-json-log.svg",
)
# what a service logging JSON (structlog, python-json-logger) prints
JSON_LOG = [
    '{"time": "09:58:30", "level": "info", "msg": "report started", "rows": 120000}',
    '{"time": "09:58:31", "level": "debug", "msg": "query", "table": "events", "ms": 412.5}',
    '{"time": "09:58:33", "level": "warning", "msg": "late partition", "day": "2025-12-31"}',
    '{"time": "09:58:40", "level": "error", "msg": "retrying", "attempt": 1, "ok": false}',
    '{"time": "09:58:41", "level": "info", "msg": "report written", "path": "out/report.csv"}',
    "plain lines stay as they are",
]


async def until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the app did not get there in time")
        await pilot.pause(0.05)


async def main() -> None:
    from textual.widgets import DataTable
    from tui_data import NOW, build_demo, make_context

    from ame_core.runtime.backend import RunStatus
    from ame_tui.app import AmeApp
    from ame_tui.widgets.log_view import LogView
    from ame_tui.widgets.metric_chart import MetricChart

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ame-shots-") as tmp:
        project, backend = build_demo(Path(tmp) / "demo")
        record = backend.add_run("nightly_report", RunStatus.SUCCEEDED, NOW - 90, id="report-json")
        Path(record.log_path).write_text("\n".join(JSON_LOG) + "\n", encoding="utf-8")
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

            # two trainings compared: Runs, space on each, =
            await pilot.press("escape", "3")
            await until(pilot, lambda: type(app.screen).__name__ == "RunsView")
            for run_id in ("train-001", "train-003"):
                table = app.screen.query_one(DataTable)
                table.move_cursor(row=[k.value for k in table.rows].index(run_id))
                await pilot.press("space")
            await pilot.press("equals_sign")
            await until(pilot, lambda: getattr(app.screen, "comparison", None) is not None)
            await pilot.pause(0.5)
            app.save_screenshot("tui-compare.svg", str(OUT))
            await pilot.press("g")
            await pilot.pause(0.5)
            app.save_screenshot("tui-compare-charts.svg", str(OUT))

            await pilot.press("escape")
            app.open_run("report-json")
            await until(pilot, lambda: app.screen.query(LogView))
            view = app.screen.query_one(LogView)
            await until(pilot, lambda: view.line_count == len(JSON_LOG))
            await pilot.pause(0.5)
            app.save_screenshot("tui-json-log.svg", str(OUT))
    for name in NAMES:
        print(OUT / name)


if __name__ == "__main__":
    asyncio.run(main())
