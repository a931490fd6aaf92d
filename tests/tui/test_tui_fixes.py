"""Pilot tests of what got in a new user's way in the console (issue 14, items 1-7): each
failed before its fix."""

from __future__ import annotations

from textual.widgets import DataTable
from tui_data import SmokeModel, screen_text, wait_for

from ame_tui.screens.deployments import DeploymentsView
from ame_tui.screens.dialogs import ConfirmScreen, SmokeScreen

SIZE = (140, 36)


def rows(app) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def footer_text(app) -> str:
    from textual.widgets import Footer

    footer = app.screen.query_one(Footer)
    return screen_text(app).splitlines()[footer.region.y]


async def test_after_undeploy_no_old_smoke_answer_and_no_s_or_u(demo) -> None:
    with SmokeModel() as model:
        demo.backend.endpoints["logreg"].url = model.url
        app = demo.app(start_view="deploy")
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView) and rows(app))
            view = app.screen
            await wait_for(pilot, lambda: "Smoke request" in footer_text(app), what="s offered")
            assert "Undeploy" in footer_text(app)
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SmokeScreen))
            smoke = app.screen
            await pilot.press(*"[1, 2]", "enter")
            await wait_for(pilot, lambda: smoke.result is not None, what="answer")
            await pilot.press("escape")
            await wait_for(pilot, lambda: "predictions" in screen_text(app), what="smoke line")
            await pilot.press("u")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "nothing is served" in screen_text(app))
            assert app.screen is view
            text = screen_text(app)
            assert "predictions" not in text and "smoke logreg" not in text
            await wait_for(pilot, lambda: "Undeploy" not in footer_text(app), what="u gone")
            assert "Smoke request" not in footer_text(app)
            await pilot.press("s")  # nothing selected: nothing opens
            await pilot.pause()
            assert app.screen is view
