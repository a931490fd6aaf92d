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


async def test_loading_says_it_waits_on_mlflow_not_on_ame_yml(demo) -> None:
    """An MLflow server that takes its time: once ame.yml is read, the Models view says it
    waits on MLflow (and where), not on the file."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ame_tui.screens.models import ModelsView

    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            release.wait(60)
            self.send_response(503)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = demo.app(tracking_uri=f"http://127.0.0.1:{server.server_port}")
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.project is not None, what="ame.yml read")
            await wait_for(pilot, lambda: "asking MLflow" in screen_text(app), what="the wait")
            assert isinstance(app.screen, ModelsView) and not app.screen.loaded
            text = screen_text(app)
            assert f"asking MLflow (http://127.0.0.1:{server.server_port})" in text
            assert "reading ame.yml" not in text and "waiting for MLflow" in text
            release.set()
    finally:
        release.set()
        server.shutdown()
        server.server_close()


async def test_the_smoke_dialog_takes_bare_values_and_says_what_it_takes(demo) -> None:
    with SmokeModel() as model:
        demo.backend.endpoints["logreg"].url = model.url
        app = demo.app(start_view="deploy")
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView) and rows(app))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SmokeScreen))
            smoke = app.screen
            await wait_for(pilot, lambda: "type a row" in screen_text(app), what="no example")
            assert "1,2; 3,4 (rows)" in screen_text(app) and "[1, 2.5]" in screen_text(app)
            await pilot.press(*"1,2,3", "enter")
            await wait_for(pilot, lambda: smoke.result is not None, what="answer")
            assert model.seen == [{"inputs": [[1, 2, 3]]}]
            assert "HTTP 200" in screen_text(app) and "[6]" in screen_text(app)
            smoke.query_one("#smoke-input").value = ""
            await pilot.press(*"1, 2; 3, 4.5", "enter")
            await wait_for(pilot, lambda: len(model.seen) == 2, what="second answer")
            assert model.seen[1] == {"inputs": [[1, 2], [3, 4.5]]}
            await wait_for(pilot, lambda: "[3, 7.5]" in screen_text(app), what="two rows")
            smoke.query_one("#smoke-input").value = ""
            await pilot.press(*"[1, 2", "enter")  # broken JSON still says where
            await wait_for(pilot, lambda: "not JSON" in screen_text(app), what="JSON error")


async def test_refusing_an_unvalidated_version_says_press_v(demo) -> None:
    from ame_tui.screens.models import ModelsView

    demo.backend.endpoints.clear()
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=[k.value for k in table.rows].index("logreg/2"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        question = app.screen.question
        assert "logreg v2 has not been validated: press v in Models first" in question
        assert "ame model validate" not in question and "--force" not in question
        await pilot.press("n")


async def test_an_auto_deploy_tells_each_run_by_its_own_id(demo) -> None:
    """Train with autoDeploy: the notifications name the training run as the training and the
    validation run as the validation."""
    from mlflow import MlflowClient
    from tui_data import tracking_uri

    from ame_core.runtime.backend import RunStatus
    from ame_tui.screens.flows import FlowDetailScreen
    from ame_tui.screens.models import ModelsView

    uri = tracking_uri(demo.project)
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen), what="flow")
        flow = app.screen
        await wait_for(pilot, lambda: flow.record is not None and flow.record.step("train").run_id)
        train = demo.backend.runs[flow.record.step("train").run_id]
        # the training registers v4 from its MLflow run, as a train.py does
        client = MlflowClient(uri, uri)
        mlflow_run = demo.runs["train-4"]
        client.create_model_version("logreg", f"runs:/{mlflow_run}/model", mlflow_run)
        train.mlflow_run_id = mlflow_run
        train.status, train.ended_at, train.exit_code = RunStatus.SUCCEEDED, train.created_at, 0
        await wait_for(pilot, lambda: flow.record.step("validate").run_id, what="validation")
        check = demo.backend.runs[flow.record.step("validate").run_id]
        check.status, check.ended_at, check.exit_code = RunStatus.SUCCEEDED, check.created_at, 0
        said = lambda: [n.message for n in app._notifications]  # noqa: E731
        await wait_for(pilot, lambda: any("succeeded" in m for m in said()), what="the end")
        end = next(m for m in said() if "succeeded" in m)
        assert f"training run {train.id} registered logreg v4" in end
        assert f"logreg v4 passed validation (run {check.id})" in end
        assert "logreg v4 is served at" in end
        for message in said():  # no line puts the validation's run under the training
            assert f"run {check.id}" not in message or "validation" in message


def log_model_files(uri: str, run_id: str, tmp_path) -> str:
    """What an MLflow 3 `log_model` stores: a logged model of the run's experiment with its
    files (under `models/m-…/artifacts`, not among the run's artifacts); returns its id."""
    from mlflow import MlflowClient

    client = MlflowClient(uri, uri)
    experiment = client.get_run(run_id).info.experiment_id
    model = client.create_logged_model(experiment, name="model", source_run_id=run_id)
    files = tmp_path / "model-files"
    files.mkdir()
    (files / "MLmodel").write_text("flavors: {}\n")
    (files / "requirements.txt").write_text("scikit-learn\n")
    client.log_model_artifacts(model.model_id, str(files))
    return model.model_id


async def test_artifacts_show_a_logged_model_and_say_when_there_are_none(demo, tmp_path) -> None:
    from mlflow import MlflowClient
    from tui_data import tracking_uri

    from ame_core.runtime.backend import RunStatus
    from ame_tui.screens.run_detail import RunDetailScreen
    from ame_tui.screens.runs import RunsView

    uri = tracking_uri(demo.project)
    model_id = log_model_files(uri, demo.runs["train-3"], tmp_path)
    client = MlflowClient(uri, uri)
    bare = client.create_run(client.get_run(demo.runs["train-3"]).info.experiment_id).info.run_id
    demo.backend.add_run(
        "nightly_report", RunStatus.SUCCEEDED, 1_767_261_000.0, id="report-002", mlflow_run_id=bare
    )
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and rows(app))
        app.open_run("train-003")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("a")
        await wait_for(pilot, lambda: f"models/{model_id}/MLmodel" in screen_text(app))
        text = screen_text(app)
        assert f"models/{model_id}/" in text and "logged model model" in text
        assert f"models/{model_id}/requirements.txt" in text and "reports/confusion.txt" in text
        await pilot.press("escape")
        app.open_run("report-002")
        await wait_for(pilot, lambda: getattr(app.screen, "run_id", "") == "report-002")
        await pilot.press("a")
        await wait_for(pilot, lambda: "no artifacts: this run logged none" in screen_text(app))
