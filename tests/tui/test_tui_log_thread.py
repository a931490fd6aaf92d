"""The log view's tail worker must not lay out the screen from its thread.

Asking a widget its size from a worker runs a layout pass in that thread when the screen's
full layout is out of date, as it is right after each layout pass until the UI thread next
needs it. A pass that has to measure text needs the app's context, which a worker thread lacks:
the worker failed and took the whole app down (the end-to-end test saw it when a run's screen
opened its log while mounting). The window is a few milliseconds wide and what gets measured
varies, so this test holds the window open and watches for any layout pass off the UI thread.

It reads Textual's privates on purpose: the layout pass (`Compositor._arrange_root`) and the
state that makes the next size query run one (`_full_map_invalidated`, `_visible_map`) have no
public counterpart, and what is checked is exactly that no such pass runs off the UI thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from textual import _compositor
from textual.app import App, ComposeResult
from textual.widgets import Static
from tui_data import screen_text, wait_for

from ame_tui.widgets.log_view import TAIL_POLL, LogView


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield Static("header")
        yield LogView()


@pytest.fixture
def layouts_off_the_ui_thread(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads, other than the UI thread, that laid out a screen."""
    seen: list[str] = []
    arrange_root = _compositor.Compositor._arrange_root
    ui_thread = threading.get_ident()

    def watched(self, *args, **kwargs):
        if threading.get_ident() != ui_thread:
            seen.append(threading.current_thread().name)
        return arrange_root(self, *args, **kwargs)

    monkeypatch.setattr(_compositor.Compositor, "_arrange_root", watched)
    return seen


async def test_a_growing_log_never_lays_out_the_screen_from_its_worker(
    tmp_path: Path, layouts_off_the_ui_thread: list[str]
) -> None:
    log = tmp_path / "run.log"
    log.write_text("line 0\n")
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        view.open(log)
        await wait_for(pilot, lambda: view.line_count == 1)
        for i in range(1, 6):
            compositor = app.screen._compositor
            # the state a layout pass leaves: the full layout is rebuilt by whoever asks first
            compositor._full_map_invalidated = True
            compositor._visible_map = None
            with log.open("a") as out:
                out.write(f"line {i}\n")
            time.sleep(TAIL_POLL * 4)  # the UI thread is busy: the worker sees the growth first
            await asyncio.sleep(0)
            await wait_for(pilot, lambda n=i + 1: view.line_count == n, what=f"line {i}")
        view.finish()
        await wait_for(pilot, lambda: "line 5" in screen_text(app), what="tail shown")
        assert app._exception is None, app._exception
    assert layouts_off_the_ui_thread == []
