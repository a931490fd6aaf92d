"""A one-line input docked at the bottom: the `/` filter of a table or the log search."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class FilterInput(Input):
    """Hidden until opened; `escape` clears and hides it, `enter` keeps the filter."""

    DEFAULT_CSS = """
    FilterInput { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
    FilterInput.-open { display: block; }
    """

    BINDINGS = [Binding("escape", "close", "Clear", show=False)]

    def open(self) -> None:
        self.add_class("-open")
        self.focus()

    def action_close(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.screen.focus_next()

    def on_input_submitted(self) -> None:
        self.remove_class("-open")
        self.screen.focus_next()
