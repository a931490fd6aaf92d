"""Pilot tests: every view and every action of `ame tui`, against a test double of the backend
and a real MLflow sqlite store."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable
from tui_data import screen_text, wait_for

from ame_core.runtime.backend import RunStatus
from ame_tui.screens.deployments import DeploymentsView
from ame_tui.screens.dialogs import ConfirmScreen, SmokeScreen
from ame_tui.screens.flows import FlowDetailScreen, FlowsView
from ame_tui.screens.help import HelpScreen
from ame_tui.screens.models import ModelsView
from ame_tui.screens.problems import ProblemsView
from ame_tui.screens.run_detail import RunDetailScreen
from ame_tui.screens.runs import RunsView
from ame_tui.screens.tasks import TasksView
from ame_tui.widgets.log_view import LogView

SIZE = (140, 36)


def rows(app) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def select_row(app, key: str) -> None:
    table = app.screen.query_one(DataTable)
    keys = [k.value for k in table.rows]
    table.move_cursor(row=keys.index(key))


async def models_loaded(pilot, app) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, ModelsView) and app.screen.loaded)


async def test_models_view_shows_versions_verdicts_and_deployed(demo) -> None:
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        await wait_for(pilot, lambda: "train-003" in screen_text(app), what="runs linked")
        table = rows(app)
        assert [r[1] for r in table] == ["v3", "v2", "v1"]
        v3, v2, v1 = table
        assert "accuracy=0.9573" in v3[4] and "✔ passed" in v3[5] and "ready" in v3[6]
        assert "@deployed" in v3[7] and "@champion" in v3[7]
        assert v2[5] == "—" and "✖ failed" in v1[5]
        text = screen_text(app)
        assert "project quickstart" in text and "MLflow sqlite:///.ame/mlflow.db ● ok" in text


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


async def step_run(pilot, app, step: str) -> str:
    """The run of the flow detail's `step`, once its driver has submitted it."""
    screen = app.screen
    assert isinstance(screen, FlowDetailScreen)
    await wait_for(
        pilot, lambda: screen.record is not None and screen.record.step(step).run_id, what=step
    )
    return screen.record.step(step).run_id


async def test_train_starts_a_flow_and_tells_its_outcome(demo) -> None:
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen), what="flow")
        flow_id = app.screen.flow_id
        await wait_for(
            pilot,
            lambda: f"train logreg: flow {flow_id} started" in messages(app),
            what="the started notification",
        )
        assert demo.backend.flows.read(flow_id).params == {"deploy": None}
        run_id = await step_run(pilot, app, "train")
        name, context = demo.backend.submitted[-1]
        assert name == "train_logreg" and context.kind == "training"
        assert context.env["AME_MODEL_NAME"] == "logreg"
        assert context.env["AME_FLOW_ID"] == flow_id
        await wait_for(pilot, lambda: run_id in screen_text(app), what="the step's run shown")
        # enter opens the step's run
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="run detail")
        assert app.screen.run_id == run_id
        await pilot.press("escape")
        # the Models view shows the flow's step on the model's row
        await pilot.press("2")
        await wait_for(pilot, lambda: "train … (train)" in rows(app)[0][8], what="flow step")
        run = demo.backend.runs[run_id]
        run.status, run.ended_at, run.exit_code = RunStatus.SUCCEEDED, run.created_at + 9, 0
        await wait_for(
            pilot,
            lambda: any(
                f"train logreg: flow {flow_id[-6:]} failed: training run {run_id} succeeded "
                "but registered no version" in m
                for m in messages(app)
            ),
            what="flow outcome",
        )
        await wait_for(pilot, lambda: rows(app)[0][8] == "train failed", what="last outcome")


async def test_validate_records_the_verdict_shown_in_models(demo) -> None:
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        select_row(app, "logreg/2")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen))
        run_id = await step_run(pilot, app, "validate")
        name, context = demo.backend.submitted[-1]
        assert name == "validate_logreg" and context.model_version == "2"
        assert context.env["AME_MODEL_URI"] == "models:/logreg/2"
        run = demo.backend.runs[run_id]
        run.status, run.ended_at, run.exit_code = RunStatus.SUCCEEDED, run.created_at + 5, 0
        await wait_for(
            pilot,
            lambda: any(
                m.startswith("validate logreg v2: flow ")
                and m.endswith(f"succeeded: logreg v2 passed validation (run {run_id})")
                for m in messages(app)
            ),
            what="flow outcome",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelsView))
        # the flow's end refreshed the view: the verdict shows without a key
        await wait_for(pilot, lambda: "✔ passed" in rows(app)[1][5], what="v2 verdict")
        assert rows(app)[1][8] == "validate succeeded"


async def test_deploy_lands_on_deployments_then_undeploy(demo) -> None:
    demo.backend.endpoints.clear()
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        select_row(app, "logreg/3")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView), what="deploy view")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DeploymentsView) and getattr(app.screen, "endpoints", None)
            ),
            what="endpoint listed",
        )
        assert rows(app)[0][:3] == ["logreg", "v3", "ready"]
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not demo.backend.endpoints, what="undeployed")
        await wait_for(pilot, lambda: "nothing is served" in screen_text(app))


async def test_the_models_view_shows_the_history_and_b_rolls_back(demo) -> None:
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        select_row(app, "logreg/3")
        await wait_for(
            pilot,
            lambda: "deploy v1 → v3 (canary) succeeded" in screen_text(app),
            what="the history under the table",
        )
        assert "deploy v1 → v2 failed: v2 did not answer /ping in 300 s" in screen_text(app)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asks")
        await pilot.press("y")
        # v3 is served, put there from v1: the roll-back serves v1 again, as a flow.
        await wait_for(pilot, lambda: demo.backend.endpoints["logreg"].version == "1")
        flow = next(f for f in demo.backend.flows.all() if f.kind == "deploy")
        assert flow.params["event"] == "rollback" and flow.params["version"] == "1"
        await wait_for(
            pilot,
            lambda: any("rollback v3 → v1 succeeded" in e.summary for e in history_of(demo)),
            what="recorded in the history",
        )


def history_of(demo) -> list:
    from tui_data import tracking_uri

    from ame_core import history

    return history.events(tracking_uri(demo.project), demo.project, "quickstart", "logreg")


async def test_deploying_an_unvalidated_version_asks_first(demo) -> None:
    demo.backend.endpoints.clear()
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        select_row(app, "logreg/2")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "has not been validated" in app.screen.question
        await pilot.press("n")
        assert not demo.backend.endpoints
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "logreg" in demo.backend.endpoints)
        assert demo.backend.endpoints["logreg"].version == "2"


async def test_runs_are_newest_first_filter_and_cancel_with_confirmation(demo) -> None:
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and rows(app))
        assert [r[0] for r in rows(app)][:3] == ["train-004", "report-001", "pipeline-001"]
        await pilot.press("slash", *"validat")
        await wait_for(pilot, lambda: len(rows(app)) == 2)
        assert {r[0] for r in rows(app)} == {"validate-001", "validate-002"}
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(rows(app)) == 8)
        select_row(app, "train-004")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert demo.backend.cancelled == []
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: demo.backend.cancelled == ["train-004"])
        await wait_for(pilot, lambda: "cancelled" in rows(app)[0][3], what="row updates")


async def test_runs_update_without_a_refresh_key(demo) -> None:
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and rows(app))
        demo.backend.runs["train-004"].status = RunStatus.FAILED
        await wait_for(pilot, lambda: rows(app)[0][3].startswith("failed"), what="live update")


async def test_run_detail_follows_pauses_resumes_wraps_and_searches(demo) -> None:
    app = demo.app(start_view="runs")
    log = Path(demo.backend.runs["train-004"].log_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: rows(app))
        select_row(app, "train-004")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        view = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: view.line_count == 5)
        with log.open("a") as out:
            out.writelines(f"step {i} loss={1 / (i + 1):.4f}\n" for i in range(500))
        await wait_for(pilot, lambda: view.line_count == 505, what="log grows")
        await wait_for(pilot, lambda: "step 499" in screen_text(app), what="tail shown")
        assert view.follow
        await pilot.press("pageup")
        assert not view.follow
        await wait_for(pilot, lambda: "paused" in screen_text(app))
        with log.open("a") as out:
            out.write("late line\n")
        await wait_for(pilot, lambda: view.line_count == 506)
        assert "late line" not in screen_text(app)
        await pilot.press("f")
        await wait_for(pilot, lambda: "late line" in screen_text(app), what="resumed")
        await pilot.press("slash", *"step 42", "enter")
        await wait_for(pilot, lambda: view.current_match == 5 + 42, what="search hit")
        assert "step 42 " in screen_text(app) and not view.follow
        await pilot.press("n")
        await wait_for(pilot, lambda: view.current_match == 5 + 420, what="next hit")
        await pilot.press("w")
        assert view.wrap
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what="back")


async def test_run_detail_metrics_artifacts_and_pipeline_steps(demo) -> None:
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: rows(app))
        select_row(app, "pipeline-001")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("p")
        steps = app.screen.query_one("#steps-table", DataTable)
        await wait_for(pilot, lambda: steps.row_count == 2, what="steps")
        steps.focus()
        steps.move_cursor(row=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "run_id", "") == "train-004")
        await pilot.press("m")
        # The metrics, their step count and the params come in separate updates: wait for all.
        wanted = ("accuracy", "12 steps", "test_size")
        await wait_for(pilot, lambda: all(w in screen_text(app) for w in wanted), what="metrics")
        await pilot.press("a")
        await wait_for(pilot, lambda: "reports/confusion.txt" in screen_text(app))


async def test_tasks_run_lands_on_the_new_run(demo) -> None:
    app = demo.app(start_view="tasks")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TasksView) and rows(app))
        table = {r[0]: r for r in rows(app)}
        assert table["nightly_report"][4].startswith("0 3 * * *")
        assert table["train_logreg"][3] == "cpu=1 memory=1Gi"
        assert table["prepare_and_train"][1] == "pipeline"
        select_row(app, "nightly_report")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert demo.backend.submitted[-1][0] == "nightly_report"


async def test_problems_follow_the_file_on_disk(demo) -> None:
    app = demo.app(start_view="problems")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsView) and rows(app))
        assert app.problem_count == 1 and "AME" in rows(app)[0][2]
        path = demo.project / "ame.yml"
        text = path.read_text().replace("cpu: 500m", "cpu: four")
        path.write_text(text)
        await wait_for(pilot, lambda: app.problem_count == 2, what="reloaded", timeout=15)
        assert "problems 2" in screen_text(app)
        assert any("four" in r[3] for r in rows(app))


async def test_navigation_jump_help_back_and_palette(demo) -> None:
    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        await pilot.press("colon", *"runs", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView))
        await pilot.press("colon", *"deploy", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView), what="back")
        await pilot.press("colon", *"flows", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsView))
        await pilot.press("3", "6")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsView), what="6: flows")
        await pilot.press("escape")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = screen_text(app)
        assert "Train" in help_text and "Roll back" in help_text
        await pilot.press("ctrl+end")  # the rest of the list, as a user scrolls it
        await pilot.pause()
        help_text = screen_text(app)
        assert "Smoke request" in help_text
        assert "Cancel flow" in help_text and "Step's run" in help_text
        await pilot.press("escape")
        titles = [title for title, _, _ in app.palette_commands()]
        for wanted in (
            "Go to Runs",
            "Go to Flows",
            "Run task nightly_report",
            "Train logreg",
            "Undeploy logreg",
        ):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"train log")
        await wait_for(pilot, lambda: "Train logreg" in screen_text(app), what="palette hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen), what="trained")
        await pilot.press("q")


async def test_read_only_hides_every_action(demo) -> None:
    app = demo.app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        text = screen_text(app)
        assert "READ-ONLY" in text and "Train" not in text.splitlines()[-1]
        await pilot.press("t", "v", "d", "u")
        await pilot.pause(0.5)
        assert demo.backend.submitted == [] and isinstance(app.screen, ModelsView)
        titles = [title for title, _, _ in app.palette_commands()]
        assert not any(t.startswith(("Train", "Deploy", "Run task", "Undeploy")) for t in titles)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and rows(app))
        select_row(app, "train-004")
        await pilot.press("c")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_keys_can_be_rebound(demo, tmp_path) -> None:
    from ame_tui.config import load_config

    path = tmp_path / "tui.toml"
    path.write_text('[keys]\ntrain = "T"\nruns = "ctrl+r"\n')
    config = load_config(path)
    assert config.keymap == {"train": "T", "runs": "ctrl+r"}
    app = demo.app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        await pilot.press("t")
        await pilot.pause(0.3)
        assert demo.backend.submitted == []
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView))
        await pilot.press("2")
        await models_loaded(pilot, app)
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen), what="T trains")


def test_a_bad_config_file_is_reported_not_fatal(tmp_path) -> None:
    from ame_tui.config import load_config

    path = tmp_path / "tui.toml"
    path.write_text("[keys\n")
    config = load_config(path)
    assert config.keymap == {} and config.problems and str(path) in config.problems[0]


async def test_smoke_request_with_a_typed_row(demo) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict] = []

    class Model(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            answer = json.dumps({"predictions": [sum(row) for row in body["inputs"]]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Model)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    demo.backend.endpoints["logreg"].url = f"http://127.0.0.1:{server.server_port}"
    app = demo.app(start_view="deploy")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsView) and rows(app))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SmokeScreen))
            smoke = app.screen
            # these versions were registered without a model: no input example, so type a row
            await wait_for(pilot, lambda: "type a row" in screen_text(app), what="no example")
            await pilot.press(*"[1, 2.5]", "enter")
            await wait_for(pilot, lambda: smoke.result is not None, what="answer")
            assert smoke.result.ok and seen == [{"inputs": [[1, 2.5]]}]
            assert "HTTP 200" in screen_text(app) and "[3.5]" in screen_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: "predictions" in screen_text(app))
            assert " ms" in screen_text(app)
    finally:
        server.shutdown()


async def test_q_quits_at_once_while_a_flow_goes_on_and_the_flow_finishes(demo) -> None:
    from ame_core.flows import control

    app = demo.app()
    async with app.run_test(size=SIZE) as pilot:
        await models_loaded(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen))
        flow_id = app.screen.flow_id
        run_id = await step_run(pilot, app, "train")
        await pilot.press("q")  # no question: the flow's driver is not the console
        await wait_for(pilot, lambda: not app.is_running, timeout=2, what="quit at once")
    assert demo.backend.cancelled == []
    run = demo.backend.runs[run_id]
    run.status, run.ended_at, run.exit_code = RunStatus.SUCCEEDED, run.created_at + 9, 0
    record = control.wait(demo.backend.flows, flow_id, timeout=30)
    assert record.status.value == "failed" and "registered no version" in record.reason
    assert record.step("train").status.value == "done"


async def test_backend_trouble_shows_in_the_status_bar(demo) -> None:
    demo.backend.fail_list = True
    app = demo.app(start_view="runs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "backend is down" in screen_text(app), what="said")
        demo.backend.fail_list = False
        app.refresh_runs()
        await wait_for(pilot, lambda: "backend is down" not in screen_text(app).splitlines()[0])
        await wait_for(pilot, lambda: rows(app), what="runs listed")


async def test_a_bug_in_a_worker_is_reported_and_the_console_runs_on(demo, monkeypatch) -> None:
    from ame_core.registry import Registry

    def broken(self, name):
        raise ValueError("registry bug")

    monkeypatch.setattr(Registry, "versions", broken)  # a bug, not an MLflow outage
    app = demo.app(start_view="models")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.worker_errors, what="the failure reported")
        assert app.is_running
        error = app.worker_errors[0]
        assert error.what == "ModelsView._fetch" and error.detail == "registry bug"
        assert "ValueError" in error.trace
        # the view polls again and fails again (not wait_for: it stops at a worker failure)
        for _ in range(150):
            if len(app.worker_errors) > 1:
                break
            await pilot.pause(0.2)
        assert len(app.worker_errors) > 1
        # said once, not at each poll
        said = [n for n in app._notifications if "registry bug" in n.message]
        assert len(said) == 1 and said[0].title == "internal error"
        assert said[0].severity == "error"
        monkeypatch.undo()
        app.worker_errors.clear()  # the rest of the console still works
        await pilot.press("colon", *"runs", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsView) and rows(app))


async def test_flows_view_lists_flows_opens_one_and_its_runs(demo) -> None:
    from tui_data import write_flows

    write_flows(demo.project)
    app = demo.app(start_view="flows")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 3, what="flows listed")
        train, deploy, failed = rows(app)
        assert train[:4] == [
            "flow-20260101-095500-a1b2c3",
            "train logreg v4",
            "running",
            "train ✓ register ✓ validate … deploy ·",
        ]
        assert train[4] == "5m ago" and deploy[2] == "succeeded" and failed[2] == "failed"
        assert "3 flows, 1 going" in screen_text(app)
        # the Models view shows the flow's step on its version's row (v4 is not registered in
        # this store: on the model's first row)
        await pilot.press("2")
        await models_loaded(pilot, app)
        await wait_for(pilot, lambda: rows(app)[0][8] == "validate … (train)", what="flow step")
        assert [r[8] for r in rows(app)[1:]] == ["", ""]
        await pilot.press("6")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowsView) and rows(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen), what="detail")
        await wait_for(pilot, lambda: rows(app), what="steps")
        assert [r[:3] for r in rows(app)] == [
            ["train", "done", "train-004"],
            ["register", "done", ""],
            ["validate", "running", "validate-002"],
            ["deploy", "pending", ""],
        ]
        text = screen_text(app)
        assert "validate: run validate-002 (validate_logreg) running" in text
        assert "driver log: .ame/flows/flow-20260101-095500-a1b2c3.log" in text
        # the cursor is on the step the flow is at: enter opens its run
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="run")
        assert app.screen.run_id == "validate-002"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FlowDetailScreen))
        await pilot.press("up", "up", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="train run")
        assert app.screen.run_id == "train-004"


async def test_a_flow_started_elsewhere_shows_up_and_cancels_with_confirmation(demo) -> None:
    from ame_core.flows import control

    app = demo.app(start_view="flows")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "no flows yet" in screen_text(app), what="empty")
        # what `ame model validate logreg --version 2 --detach` does, on the same store
        record = control.start(
            demo.backend.flows,
            "validate",
            "quickstart",
            "local",
            model="logreg",
            params={"version": "2", "alias": None},
            origin={"project_dir": str(demo.project)},
        )
        await wait_for(pilot, lambda: rows(app) and rows(app)[0][0] == record.id, what="shown")
        await wait_for(pilot, lambda: "validate …" in rows(app)[0][3], what="at validate")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asks")
        assert record.id in app.screen.question
        await pilot.press("n")
        assert not demo.backend.flows.cancel_requested(record.id)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: rows(app)[0][2] == "cancelled", what="cancelled")
        run_id = demo.backend.flows.read(record.id).step("validate").run_id
        assert demo.backend.cancelled == [run_id]
        assert any(m == f"validate logreg v2: flow {record.id} cancelled" for m in messages(app))
        # Told once: not again when the flows are read next.
        fetched = app.flows_loaded
        app.flows_loaded = False
        app.refresh_flows()
        await wait_for(pilot, lambda: app.flows_loaded, what="flows read again")
        app.flows_loaded = fetched
        told = [m for m in messages(app) if "cancelled" in m and "validate logreg v2" in m]
        assert len(told) == 1, messages(app)
    # and the other way round: what the console started, `ame flow list` reads
    assert control.listing(demo.backend.flows)[0].id == record.id


async def test_read_only_cannot_cancel_a_flow(demo) -> None:
    from tui_data import write_flows

    write_flows(demo.project)
    app = demo.app(read_only=True, start_view="flows")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 3, what="flows listed")
        await pilot.press("c")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Cancel flow" not in screen_text(app)
