"""`?`: every key of every view, with the keys the user re-bound in tui.toml."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def binding_rows(
    app_bindings: list[Any], keymap: dict[str, str], allowed: Callable[[str], bool]
) -> list[tuple[str, str, str]]:
    """(where, key, what) of every key: the app's own (`app_bindings`), each view's and each
    detail screen's, as re-bound by `keymap` (tui.toml's [keys]) and only where `allowed`."""
    from ame_tui.screens.registry import detail_screens, view_screens

    sources: list[tuple[str, list[Any]]] = [("everywhere", app_bindings)]
    sources += [(cls.VIEW_TITLE, cls.BINDINGS) for cls in view_screens().values()]
    sources += [(where, cls.BINDINGS) for where, cls in detail_screens()]
    rows = [("everywhere", "ctrl+p", "command palette: every action")]
    for where, bindings in sources:
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            action = binding.action.split("(")[0]
            if not allowed(action):
                continue
            key = keymap.get(binding.id, binding.key) if binding.id else binding.key
            rows.append((where, _pretty(key), binding.description or action))
    return rows


def _pretty(key: str) -> str:
    names = {
        "colon": ":",
        "question_mark": "?",
        "slash": "/",
        "equals_sign": "=",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    return ",".join(names.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(
        self, app_bindings: list[Any], keymap: dict[str, str], allowed: Callable[[str], bool]
    ) -> None:
        super().__init__()
        self.rows = binding_rows(app_bindings, keymap, allowed)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                Text(
                    " Keys (re-bind in ~/.config/ame/tui.toml [keys]; :view jumps, escape goes back)"
                ),
                classes="summary",
            )
            table: DataTable = DataTable(id="help-table", cursor_type="row")
            table.add_columns("WHERE", "KEY", "WHAT")
            for row in self.rows:
                table.add_row(*row)
            yield table

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
