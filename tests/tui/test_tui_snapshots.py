"""Snapshots of the main views (pytest-textual-snapshot): fixed clock, a test-double backend,
a real MLflow sqlite store. Update with `pytest tests/tui --snapshot-update` after checking
the SVGs by eye."""

from __future__ import annotations

from textual.widgets import DataTable, TabbedContent
from tui_data import wait_for

from ame_tui.screens.help import HelpScreen
from ame_tui.widgets.log_view import LogView

SIZE = (130, 30)


def _sized(table: DataTable) -> bool:
    """The table's virtual size is that of its columns and rows as they are now."""
    width = sum(column.get_render_width(table) for column in table.columns.values())
    height = sum(row.height for row in table.rows.values())
    height += table.header_height if table.show_header else 0
    return table.virtual_size == (width, height)


async def _settle(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.project is not None and app.mlflow_state == "ok")
    screen = app.screen
    if screen.WANTS_RUNS:
        await wait_for(pilot, lambda: app.runs, what="runs")
    if hasattr(screen, "loaded"):
        await wait_for(pilot, lambda: screen.loaded, what="view data")
    await wait_for(pilot, lambda: app.focused is not None, what="focus")
    tables = screen.query(DataTable)
    if tables:
        table = tables.first()
        await wait_for(pilot, lambda: table.row_count > 0, what="rows")
        # the table recomputes its scrollable size when idle: wait until it fits the columns
        await wait_for(pilot, lambda: _sized(table), what="column widths")
    await _drawn(pilot)


async def _drawn(pilot) -> None:
    """Animations (scrolling, tab underline) done and the messages they left handled."""
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_models_view(snap_compare, demo) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("3", "2")  # runs once, so training runs are linked to versions
        await _settle(pilot)
        await wait_for(
            pilot, lambda: "train-003" in str(pilot.app.screen.query_one("DataTable").get_row_at(0))
        )

    assert snap_compare(demo.app(), terminal_size=SIZE, run_before=before)


def test_runs_view(snap_compare, demo) -> None:
    assert snap_compare(demo.app(start_view="runs"), terminal_size=SIZE, run_before=_settle)


def test_tasks_view(snap_compare, demo) -> None:
    assert snap_compare(demo.app(start_view="tasks"), terminal_size=SIZE, run_before=_settle)


def test_run_detail_view(snap_compare, demo) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_run("train-004")
        await wait_for(pilot, lambda: pilot.app.screen.query(LogView))
        view = pilot.app.screen.query_one(LogView)
        await wait_for(pilot, lambda: view.line_count == 5 and pilot.app.screen.record)
        await wait_for(
            pilot,
            lambda: all(view.store.cached(i) is not None for i in range(5)),
            what="the log's lines read",
        )
        await _drawn(pilot)

    assert snap_compare(demo.app(start_view="runs"), terminal_size=SIZE, run_before=before)


def test_run_detail_metrics(snap_compare, demo) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_run("train-003")
        await wait_for(pilot, lambda: pilot.app.screen.query(LogView))
        await pilot.press("m")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.query_one(TabbedContent).active == "metrics")
        await wait_for(pilot, lambda: screen._final_data, what="metrics")
        await _drawn(pilot)

    assert snap_compare(demo.app(start_view="runs"), terminal_size=SIZE, run_before=before)


def test_deployments_view(snap_compare, demo) -> None:
    assert snap_compare(demo.app(start_view="deploy"), terminal_size=SIZE, run_before=_settle)


def test_problems_view(snap_compare, demo) -> None:
    assert snap_compare(demo.app(start_view="problems"), terminal_size=SIZE, run_before=_settle)


def test_help(snap_compare, demo) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        await _drawn(pilot)

    assert snap_compare(demo.app(start_view="tasks"), terminal_size=SIZE, run_before=before)


def test_flows_view(snap_compare, demo) -> None:
    from tui_data import write_flows

    write_flows(demo.project)
    app = demo.app(start_view="flows")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_flow_detail_view(snap_compare, demo) -> None:
    from tui_data import write_flows

    write_flows(demo.project)

    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_flow("flow-20260101-095500-a1b2c3")
        await wait_for(pilot, lambda: pilot.app.screen.query(DataTable))
        await _settle(pilot)

    assert snap_compare(demo.app(start_view="flows"), terminal_size=SIZE, run_before=before)
