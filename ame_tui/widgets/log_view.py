"""A virtual log view: renders only the visible lines of a file of any size.

The file is indexed lazily by `LineStore` in a worker; lines are read in a worker when they
scroll into view and shown from a cache, so neither a 1,000,000-line log nor a task printing
10,000 lines a second blocks the UI. It follows the tail until the user scrolls up; `f`
resumes. Wrapping, search highlights and structured (JSON) lines are rendered at draw time, for
visible lines only.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from ame_tui.services.logstore import LineStore
from ame_tui.widgets.structured import pretty as pretty_line
from ame_tui.workers import background

TAIL_POLL = 0.1  # seconds between looks at the file while following
MATCH_STYLE = Style(color="black", bgcolor="yellow")
CURRENT_STYLE = Style(bgcolor="grey30")


class LogView(ScrollView, can_focus=True):
    """Lines of a growing file."""

    DEFAULT_CSS = """
    LogView { background: $surface; }
    """

    BINDINGS = [
        Binding("end", "follow", "Follow", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    wrap: reactive[bool] = reactive(False)
    search: reactive[str] = reactive("")
    pretty: reactive[bool] = reactive(True)  # JSON object lines shown readable (False: raw)

    class Changed(Message):
        """Follow state, size or search position changed (for the screen's status line)."""

        def __init__(self, view: LogView) -> None:
            super().__init__()
            self.view = view

    class _Grew(Message):
        def __init__(self, lines: int, width: int) -> None:
            super().__init__()
            self.lines = lines
            self.width = width

    class _Loaded(Message):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.store: LineStore | None = None
        self.line_count = 0
        self.current_match: int | None = None
        self._max_width = 0
        self._loading: tuple[int, int] | None = None
        self._finished = threading.Event()
        self._programmatic = False
        self._wrap_cache: tuple[tuple, list[Strip]] | None = None
        self._pattern: re.Pattern[str] | None = None
        self.opened_at: float | None = None
        # Rows the tail worker reads to size the view, kept by `on_resize` on the UI thread:
        # asking a widget its size from a worker can run a layout pass there, which needs the
        # app's context and crashed the app (seen when a log opened while its screen mounted).
        self._tail_rows = 48

    # --- source -----------------------------------------------------------------------------

    def open(self, path: str | Path) -> None:
        """Show `path` (it may not exist yet) and follow it until `finish()`."""
        self.store = LineStore(path)
        self.line_count = 0
        self._finished.clear()
        self.opened_at = time.perf_counter()
        self._tail(self.store)

    def finish(self) -> None:
        """The writer is done: stop polling once the rest is read."""
        self._finished.set()

    @background(exclusive=True, group="log-tail")
    def _tail(self, store: LineStore) -> None:
        worker = get_current_worker()
        first = True
        while not worker.is_cancelled:
            done = self._finished.is_set()
            grew = store.refresh()
            if grew or first:
                count = store.line_count
                width = 0
                if self.follow or first:
                    rows = self._tail_rows
                    lines = store.read_lines(max(0, count - rows), rows)
                    width = max((len(line) for line in lines), default=0)
                self.post_message(self._Grew(count, width))
                first = False
            elif done:
                return
            time.sleep(TAIL_POLL)

    def on_resize(self) -> None:
        self._tail_rows = max(self.size.height, 24) * 2

    def on_log_view__grew(self, message: _Grew) -> None:
        message.stop()
        self.line_count = message.lines
        self._max_width = max(self._max_width, message.width)
        self._wrap_cache = None
        self._update_size()
        if self.follow:
            self._scroll_to_tail()
        self.refresh()
        self.post_message(self.Changed(self))

    def on_log_view__loaded(self, message: _Loaded) -> None:
        message.stop()
        self._loading = None
        if message.width > self._max_width:
            self._max_width = message.width
            self._update_size()
        self._wrap_cache = None
        self.refresh()

    def _update_size(self) -> None:
        width = self.scrollable_content_region.width if self.wrap else self._max_width + 1
        self.virtual_size = Size(width, self.line_count)

    def _scroll_to_tail(self) -> None:
        self._programmatic = True
        try:
            top = self._wrapped_tail_top() if self.wrap else self.line_count
            self.scroll_to(y=top, animate=False, force=True)
        finally:
            self._programmatic = False

    # --- following ----------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._programmatic and new_value < old_value and self.follow:
            self.follow = False
        self._wrap_cache = None

    def watch_follow(self, follow: bool) -> None:
        if follow and self.is_mounted:
            self._scroll_to_tail()
        if self.is_mounted:
            self.post_message(self.Changed(self))

    def watch_wrap(self, _wrap: bool) -> None:
        self._wrap_cache = None
        if self.is_mounted:
            self._update_size()
            if self.follow:
                self._scroll_to_tail()
            self.refresh()

    def watch_pretty(self, _pretty: bool) -> None:
        self._wrap_cache = None
        self.refresh()
        if self.is_mounted:
            self.post_message(self.Changed(self))

    def watch_search(self, term: str) -> None:
        self._pattern = re.compile(re.escape(term), re.IGNORECASE) if term else None
        self._wrap_cache = None
        self.refresh()

    def action_follow(self) -> None:
        self.follow = True

    def show_line(self, line: int) -> None:
        """Scroll so `line` is visible (stops following)."""
        self.current_match = line
        self.follow = False
        self._programmatic = True
        try:
            self.scroll_to(y=max(0, line - self.size.height // 3), animate=False, force=True)
        finally:
            self._programmatic = False
        self._wrap_cache = None
        self.refresh()
        self.post_message(self.Changed(self))

    # --- reading visible lines ------------------------------------------------------------

    def _want(self, line: int) -> None:
        if self._loading is not None and self._loading[0] <= line < self._loading[1]:
            return
        height = max(self.size.height, 1)
        first = max(0, line - height)
        self._loading = (first, first + height * 3)
        self._load(first, height * 3)

    @background(exclusive=True, group="log-read")
    def _load(self, first: int, count: int) -> None:
        if self.store is None:
            return
        lines = self.store.read_lines(first, count)
        self.post_message(self._Loaded(max((len(x) for x in lines), default=0)))

    def _text(self, index: int) -> Text | None:
        assert self.store is not None
        raw = self.store.cached(index)
        if raw is None:
            return None
        text = pretty_line(raw) if self.pretty and raw.lstrip().startswith("{") else None
        if text is None:  # a task's own colours (ANSI escapes) are kept, the codes not shown
            text = Text.from_ansi(raw) if "\x1b" in raw else Text(raw)
        if self._pattern is not None:
            text.highlight_regex(self._pattern, MATCH_STYLE)
        if index == self.current_match:
            text.stylize(CURRENT_STYLE)
        return text

    # --- rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self.store is None:
            return Strip.blank(width)
        if self.wrap:
            rows = self._wrapped_rows(width)
            return rows[y] if y < len(rows) else Strip.blank(width)
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        if index >= self.line_count:
            return Strip.blank(width)
        text = self._text(index)
        if text is None:
            self._want(index)
            return Strip.blank(width)
        segments = list(text.render(self.app.console, end=""))
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, None)

    def _wrapped_rows(self, width: int) -> list[Strip]:
        key = (self.scroll_offset.y, width, self.line_count, self.size.height)
        if self._wrap_cache is not None and self._wrap_cache[0] == key:
            return self._wrap_cache[1]
        rows: list[Strip] = []
        index = self.scroll_offset.y
        console = self.app.console
        while len(rows) < self.size.height and index < self.line_count:
            text = self._text(index)
            if text is None:
                self._want(index)
                break
            for line in text.wrap(console, max(width, 1)) or [Text("")]:
                segments = list(line.render(console, end=""))
                rows.append(Strip(segments).crop_extend(0, width, None))
            index += 1
        self._wrap_cache = (key, rows)
        return rows

    def _wrapped_tail_top(self) -> int:
        """The first line to show so the last lines, wrapped, end at the bottom."""
        width = max(self.scrollable_content_region.width, 1)
        budget = self.size.height
        index = self.line_count
        console = self.app.console
        while index > 0 and budget > 0:
            text = self._text(index - 1)
            rows = 1 if text is None else max(1, len(text.wrap(console, width)))
            if rows > budget and index < self.line_count:
                break
            budget -= rows
            index -= 1
        return index
