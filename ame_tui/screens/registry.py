"""The console's views (its modes, by name) and the other screens whose keys the help lists.

A module of its own so the app and the help screen both read it without importing each other.
"""

from __future__ import annotations

from typing import Any


def view_screens() -> dict[str, Any]:
    """The views by the name `:view` and the keys 1–6 use (imported on first use: the first
    frame does not wait for every screen's imports)."""
    from ame_tui.screens.deployments import DeploymentsView
    from ame_tui.screens.flows import FlowsView
    from ame_tui.screens.models import ModelsView
    from ame_tui.screens.problems import ProblemsView
    from ame_tui.screens.runs import RunsView
    from ame_tui.screens.tasks import TasksView

    return {
        "tasks": TasksView,
        "models": ModelsView,
        "runs": RunsView,
        "deploy": DeploymentsView,
        "problems": ProblemsView,
        "flows": FlowsView,
    }


def detail_screens() -> list[tuple[str, Any]]:
    """(where, class) of the screens and widgets that are not views but have keys of their own."""
    from ame_tui.screens.compare import CompareScreen
    from ame_tui.screens.flows import FlowDetailScreen
    from ame_tui.screens.run_detail import RunDetailScreen
    from ame_tui.widgets.log_view import LogView

    return [
        ("Flow detail", FlowDetailScreen),
        ("Run detail", RunDetailScreen),
        ("Run detail log", LogView),
        ("Compare", CompareScreen),
    ]
