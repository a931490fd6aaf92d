"""`?`: every key of every view, with the keys the user re-bound in tui.toml."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def binding_rows(app: Any) -> list[tuple[str, str, str]]:
    from ame_tui.app import AmeApp, _screens
    from ame_tui.screens.compare import CompareScreen
    from ame_tui.screens.flows import FlowDetailScreen
    from ame_tui.screens.run_detail import RunDetailScreen
    from ame_tui.widgets.log_view import LogView

    keymap = getattr(app, "_keymap", {}) or {}
    sources: list[tuple[str, Any]] = [("everywhere", AmeApp)]
    sources += [(cls.VIEW_TITLE, cls) for cls in _screens().values()]
    sources += [("Flow detail", FlowDetailScreen)]
    sources += [("Run detail", RunDetailScreen), ("Run detail log", LogView)]
    sources += [("Compare", CompareScreen)]
    rows = [("everywhere", "ctrl+p", "command palette: every action")]
    for where, cls in sources:
        for binding in cls.BINDINGS:
            if not isinstance(binding, Binding):
                continue
            action = binding.action.split("(")[0]
            if not app.allowed(action):
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
            for row in binding_rows(self.app):
                table.add_row(*row)
            yield table

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
