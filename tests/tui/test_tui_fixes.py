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
    lines = screen_text(app).splitlines()
    return lines[footer.region.y] if footer.region.y < len(lines) else ""  # not drawn yet


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


async def test_view_keys_open_the_list_and_escape_goes_back_through_views(demo) -> None:
    from ame_tui.screens.models import ModelsView
    from ame_tui.screens.run_detail import RunDetailScreen
    from ame_tui.screens.runs import RunsView

    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and rows(app))
        await pilot.press("enter")  # a run's detail
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="detail")
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView), what="models")
        await pilot.press("3")  # the list, not the detail opened before
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what="the runs list")
        assert "RUN" in screen_text(app) and len(app.screen_stack) == 1
        # the same from a detail opened in Models (its training run) and `:models`
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and rows(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="train run")
        await pilot.press("colon", *"runs", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what=":runs")
        await pilot.press("colon", *"models", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView), what=":models")
        assert len(app.screen_stack) == 1
        # escape: back through the views, each once (models ← runs ← models is not a loop)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what="back to runs")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView), what="back to models")
        await pilot.press("escape")  # nothing before: it stays
        await pilot.pause()
        assert isinstance(app.screen, ModelsView)


async def palette_lines(pilot, app, query: str, wanted: str) -> list[str]:
    """The palette's lines for `query`, once `wanted` shows among them."""
    await pilot.press("ctrl+p")
    await pilot.press(*query)
    await wait_for(pilot, lambda: wanted in screen_text(app), what=f"palette: {wanted}")
    await pilot.pause(0.3)  # every provider has answered (their hits are merged as they come)
    lines = screen_text(app).splitlines()
    await pilot.press("escape")
    return lines


async def test_the_palette_has_every_action_and_quit_and_keys_once(demo) -> None:
    from ame_tui.screens.models import ModelsView
    from ame_tui.screens.runs import RunsView

    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
        await wait_for(pilot, lambda: app.flows_loaded and app.runs, what="runs and flows")
        lines = await palette_lines(pilot, app, "smoke", "Smoke request to logreg v3")
        lines = await palette_lines(pilot, app, "cancel", "Cancel run train-004")
        assert any("Cancel run pipeline-001" in line for line in lines)
        lines = await palette_lines(pilot, app, "quit", "Quit")
        assert sum(1 for line in lines if line.strip(" ▊▎│").startswith("Quit")) == 1
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" not in titles and "Keys" not in titles  # ours stand alone
        assert [t for t, _, _ in app.palette_commands(app.screen)].count("Show every key") == 1
        # the view's own keys are commands too
        lines = await palette_lines(pilot, app, "promote", "Promote canary (Models)")
        await palette_lines(pilot, app, "filter", "Filter runs")
        await pilot.press("ctrl+p", *"filter runs")
        await wait_for(pilot, lambda: "Filter runs" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what="runs")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "runs-filter")
