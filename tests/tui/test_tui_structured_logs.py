"""Structured logs in a run's log: JSON object lines shown readable and coloured (`j` shows
them raw), and a task's own ANSI colours kept, without their codes."""

from __future__ import annotations

import json
from pathlib import Path

from tui_data import NOW, screen_pieces, screen_text, wait_for

from ame_core.runtime.backend import RunStatus
from ame_tui.screens.run_detail import RunDetailScreen

SIZE = (140, 36)

LINES = [
    "plain start",
    json.dumps({"time": "10:00:01", "level": "info", "msg": "epoch done", "epoch": 3,
                "loss": 0.25, "tag": "a b"}),
    json.dumps({"timestamp": "10:00:02", "levelname": "ERROR", "message": "disk full",
                "retry": False}),
    "\x1b[31mred alert\x1b[0m and \x1b[1;32mgreen ok\x1b[0m",
    '{"not": json at all',
]  # fmt: skip


def styles(app) -> dict[str, object]:
    """Each piece of text on screen with the style it is drawn in."""
    return {text.strip(): style for _, _, text, style in screen_pieces(app) if text.strip()}


def hue(style) -> str:
    """'red', 'green' or 'blue': the colour's strongest channel (the theme picks the shade)."""
    r, g, b = style.color.get_truecolor()
    return max((r, "red"), (g, "green"), (b, "blue"))[1]


async def test_json_lines_are_pretty_and_coloured_ansi_kept_and_j_shows_raw(demo) -> None:
    record = demo.backend.add_run("nightly_report", RunStatus.SUCCEEDED, NOW - 60, id="report-json")
    Path(record.log_path).write_text("\n".join(LINES) + "\n", encoding="utf-8")
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.runs, what="runs")
        app.open_run("report-json")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await wait_for(pilot, lambda: "epoch done" in screen_text(app), what="the log")
        text = screen_text(app)
        assert '10:00:01 INFO  epoch done epoch=3 loss=0.25 tag="a b"' in text
        assert "10:00:02 ERROR disk full retry=false" in text
        assert '{"time"' not in text and '{"not": json at all' in text  # not JSON: as it is
        seen = styles(app)
        assert hue(seen["INFO"]) == "green" and seen["INFO"].bold
        assert hue(seen["ERROR"]) == "red"
        # the task's colours, not its escape codes
        assert "\x1b" not in text and "[31m" not in text and "red alert" in text
        assert hue(seen["red alert"]) == "red"
        assert hue(seen["green ok"]) == "green" and seen["green ok"].bold
        await pilot.press("j")  # the lines as the task printed them
        await wait_for(pilot, lambda: '{"time": "10:00:01"' in screen_text(app), what="raw")
        assert "JSON lines raw (j: pretty)" in screen_text(app)
        await pilot.press("j")
        await wait_for(pilot, lambda: "INFO  epoch done" in screen_text(app), what="pretty")
