"""The AME console: a Textual app over ame_core (project file, backend, MLflow).

State the views share lives here (project, runs, flows, MLflow health); views watch it. All I/O
runs in thread workers that post messages (see `messages`); handlers update state and widgets.
Nothing heavy is imported before the first frame: mlflow and the backend load in workers.

Training, validation, deployment are flows (`ame_core.flows`): the console starts one and reads
its record from then on, so quitting loses nothing; it tells when each one it saw ends.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from ame_core.errors import one_line
from ame_tui.config import MUTATING, TuiConfig
from ame_tui.messages import (
    ActionFailed,
    BackendProblem,
    Finished,
    FlowsFetched,
    FlowStarted,
    ForceAsk,
    Launched,
    MlflowChecked,
    ProjectLoaded,
    RunsFetched,
    WorkerCrashed,
)
from ame_tui.screens.registry import view_screens
from ame_tui.services.context import AppContext
from ame_tui.services.project import ProjectInfo
from ame_tui.workers import DaemonExecutor, background

VIEWS: dict[str, str] = {
    "tasks": "Tasks",
    "models": "Models",
    "runs": "Runs",
    "deploy": "Deployments",
    "problems": "Problems",
    "flows": "Flows",
}
VIEW_ALIASES = {
    "task": "tasks",
    "model": "models",
    "run": "runs",
    "deployments": "deploy",
    "deployment": "deploy",
    "deploys": "deploy",
    "problem": "problems",
    "lint": "problems",
    "flow": "flows",
    "help": "help",
    "quit": "quit",
    "q": "quit",
}
RUNS_POLL_ACTIVE = 1.0  # seconds between run lists while something runs
RUNS_POLL_IDLE = 5.0
PROJECT_POLL = 2.0
FLOWS_POLL_ACTIVE = 1.0  # seconds between flow lists while one goes on or a view shows them
FLOWS_POLL_IDLE = 5.0
MLFLOW_OK_POLL = 15.0
MLFLOW_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
WORKER_ERRORS_KEPT = 100
HISTORY_KEPT = len(VIEWS)  # escape walks back through views, each once


def _commands() -> Any:
    from ame_tui.widgets.commands import AmeCommands

    return AmeCommands


class AmeApp(App[None]):
    """`ame tui`."""

    TITLE = "AME console"
    CSS_PATH = str(Path(__file__).with_name("ame.tcss"))  # absolute: subclasses live anywhere
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_commands}

    BINDINGS: ClassVar[list[Any]] = [
        Binding("colon", "jump", "Go to", id="jump"),
        Binding("question_mark", "help", "Keys", id="help"),
        Binding("escape", "back", "Back", show=False, id="back"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("1", "view('tasks')", "Tasks", show=False, id="tasks"),
        Binding("2", "view('models')", "Models", show=False, id="models"),
        Binding("3", "view('runs')", "Runs", show=False, id="runs"),
        Binding("4", "view('deploy')", "Deployments", show=False, id="deploy"),
        Binding("5", "view('problems')", "Problems", show=False, id="problems"),
        Binding("6", "view('flows')", "Flows", show=False, id="flows"),
    ]

    mlflow_state: reactive[str] = reactive("checking")
    backend_state: reactive[str] = reactive("")
    problem_count: reactive[int] = reactive(0)
    project_name: reactive[str] = reactive("")
    view_title: reactive[str] = reactive("")
    project: reactive[ProjectInfo | None] = reactive(None, always_update=True)
    runs: reactive[list[Any]] = reactive(list, always_update=True)
    flows: reactive[list[Any]] = reactive(list, always_update=True)
    flows_state: reactive[str] = reactive("")  # why flows cannot be listed ('' = they can)

    def __init__(
        self,
        ctx: AppContext,
        config: TuiConfig | None = None,
        start_view: str | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.config = config or TuiConfig()
        self.start_view = start_view
        self.project_name = ctx.project_dir.name
        self.versions: dict[str, list[Any]] = {}  # model → versions, newest first
        self.endpoints: dict[str, Any] = {}  # model → its endpoint, as the Models view read it
        self._history: list[str] = []
        self._runs_busy = False
        self._runs_last = 0.0
        self._mlflow_failures = 0
        self._mlflow_timer: Any = None
        self._project_busy = False
        self._flows_busy = False
        self._flows_last = 0.0
        self.flows_loaded = False
        # flows seen going on, whose end is told once (also those started from the CLI)
        self._flows_going: set[str] = set()
        # Flows this console is cancelling: their end is told by the cancel's own toast.
        self._flows_cancelling: set[str] = set()
        self.worker_errors: list[WorkerCrashed] = []  # bugs a worker hit; the app ran on
        for name, screen in view_screens().items():
            self.add_mode(name, screen)

    # --- start -------------------------------------------------------------------------------

    def on_load(self) -> None:
        # Before any worker starts: thread workers on daemon threads (see workers.py).
        asyncio.get_running_loop().set_default_executor(DaemonExecutor())

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        for problem in self.config.problems:
            self.notify(problem, title="tui.toml", severity="warning")
        self.switch_mode(self.start_view or "models")
        # workers start after the first frame: their imports (pydantic, the engine) would
        # otherwise compete with it for the interpreter
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self._load_project()
        self._check_mlflow()
        self.set_interval(PROJECT_POLL, self._watch_project)
        self.set_interval(1.0, self._maybe_poll_runs)
        self.set_interval(FLOWS_POLL_ACTIVE, self._maybe_poll_flows)

    # --- read-only ---------------------------------------------------------------------------

    def allowed(self, action: str) -> bool:
        return not (self.ctx.read_only and action in MUTATING)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.allowed(action)

    # --- navigation ----------------------------------------------------------------------------

    def action_view(self, name: str) -> None:
        name = VIEW_ALIASES.get(name, name)
        if name == "help":
            self.action_help()
            return
        if name == "quit":
            self.exit()
            return
        if name not in VIEWS:
            self.notify(
                f"no view '{name}': try {', '.join(':' + v for v in VIEWS)}", severity="warning"
            )
            return
        # A view key opens the view's list, never a detail left open in it: the details (and
        # dialogs) of the view left are closed, and those of the target too.
        self._close_details()
        if self.current_mode != name:
            self._remember(self.current_mode)
            self.switch_mode(name)
            self._close_details()

    def _close_details(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def _remember(self, mode: str) -> None:
        """Escape's history: the views left, each once (the latest visit), the newest last."""
        if mode not in VIEWS:
            return
        if mode in self._history:
            self._history.remove(mode)
        self._history.append(mode)
        del self._history[:-HISTORY_KEPT]

    def action_jump(self) -> None:
        from ame_tui.screens.dialogs import JumpScreen

        def jump(target: str | None) -> None:
            if target:
                self.action_view(target.strip().lstrip(":").lower())

        self.push_screen(JumpScreen(), jump)

    def action_help(self) -> None:
        from ame_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.BINDINGS, self.config.keymap, self.allowed))

    def action_back(self) -> None:
        """Close the detail on top, else go back to the view shown before this one."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
            return
        while self._history:
            previous = self._history.pop()
            if previous != self.current_mode:
                self.switch_mode(previous)
                self._close_details()
                return

    def open_run(self, run_id: str) -> None:
        from ame_tui.screens.run_detail import RunDetailScreen

        self.push_screen(RunDetailScreen(run_id))

    # --- the project file ------------------------------------------------------------------------

    @background(exclusive=True, group="project")
    def _load_project(self) -> None:
        from ame_tui.services.project import load_project

        info = load_project(self.ctx.project_file, self.ctx.project_dir.name)
        self.post_message(ProjectLoaded(info))

    def _watch_project(self) -> None:
        if not self._project_busy:
            self._project_busy = True
            self._stat_project()

    @background(exclusive=True, group="project-stat")
    def _stat_project(self) -> None:
        from ame_tui.services.project import load_project, read_mtime

        try:
            known = self.project.mtime if self.project is not None else None
            if known is not None and read_mtime(self.ctx.project_file) != known:
                self.post_message(
                    ProjectLoaded(load_project(self.ctx.project_file, self.ctx.project_dir.name))
                )
        finally:
            self._project_busy = False

    def on_project_loaded(self, message: ProjectLoaded) -> None:
        info: ProjectInfo = message.info
        self.project = info
        self.project_name = info.name
        self.problem_count = len(info.problems) + (1 if info.read_error else 0)

    # --- runs -----------------------------------------------------------------------------------

    def _maybe_poll_runs(self) -> None:
        """Ask the backend for runs only while a view that shows them is on screen."""
        if self._runs_busy or not getattr(self.screen, "WANTS_RUNS", False):
            return
        active = any(not r.status.finished for r in self.runs)
        interval = RUNS_POLL_ACTIVE if active or not self._runs_last else RUNS_POLL_IDLE
        if time.monotonic() - self._runs_last < interval:
            return
        self.refresh_runs()

    def refresh_runs(self) -> None:
        self._runs_busy = True
        self._runs_last = time.monotonic()
        self._fetch_runs(self.project.name if self.project else None)

    @background(exclusive=True, group="runs")
    def _fetch_runs(self, project: str | None) -> None:
        try:
            runs = self.ctx.backend().list_runs(project)
        except Exception as exc:  # noqa: BLE001 - shown in the status bar
            self.post_message(BackendProblem(one_line(exc)))
        else:
            self.post_message(RunsFetched(runs))
        finally:
            self._runs_busy = False

    def on_runs_fetched(self, message: RunsFetched) -> None:
        self.backend_state = ""
        self.runs = message.runs

    def on_backend_problem(self, message: BackendProblem) -> None:
        if message.detail and message.detail != self.backend_state:
            self.notify(message.detail, title="backend", severity="error")
        self.backend_state = message.detail

    # --- flows ----------------------------------------------------------------------------------

    def _maybe_poll_flows(self) -> None:
        """List flows often while one goes on or a view shows them, else now and then: a flow
        started from the CLI shows up, and the end of each one seen going is told."""
        if self._flows_busy:
            return
        busy = bool(self._flows_going) or getattr(self.screen, "WANTS_FLOWS", False)
        interval = FLOWS_POLL_ACTIVE if busy or not self.flows_loaded else FLOWS_POLL_IDLE
        if time.monotonic() - self._flows_last >= interval:
            self.refresh_flows()

    def refresh_flows(self) -> None:
        if self._flows_busy:
            return
        self._flows_busy = True
        self._flows_last = time.monotonic()
        self._fetch_flows()

    @background(exclusive=True, group="flows")
    def _fetch_flows(self) -> None:
        from ame_tui.services import actions

        try:
            flows = actions.list_flows(self.ctx)
        except Exception as exc:  # noqa: BLE001 - the backend cannot list flows: one line
            self.post_message(FlowsFetched(list(self.flows), one_line(exc)))
        else:
            self.post_message(FlowsFetched(flows))
        finally:
            self._flows_busy = False

    def on_flows_fetched(self, message: FlowsFetched) -> None:
        from ame_tui.services.flows import outcome_text

        self.flows_state = message.error
        if message.error:
            return
        ended = False
        for record in message.flows:
            if not record.status.finished:
                self._flows_going.add(record.id)
            elif record.id in self._flows_going:
                self._flows_going.discard(record.id)
                ended = True
                if record.id in self._flows_cancelling:
                    continue
                ok = record.status.value == "succeeded"
                self.notify(
                    outcome_text(record),
                    title=record.kind,
                    severity="information" if ok else "error",
                    timeout=10,
                )
        self.flows_loaded = True
        self.flows = message.flows
        if ended:  # what a flow changed (a version, a verdict, an endpoint) shows at once
            self._refresh_screens()

    def on_flow_started(self, message: FlowStarted) -> None:
        from ame_tui.services.flows import started_text

        record = message.record
        self._flows_going.add(record.id)
        self.flows = [record, *[f for f in self.flows if f.id != record.id]]
        self.notify(started_text(record), title=record.kind)
        if record.kind == "deploy":
            self.action_view("deploy")
        elif record.kind in ("train", "validate"):
            self.open_flow(record.id)
        self.refresh_flows()

    def open_flow(self, flow_id: str) -> None:
        from ame_tui.screens.flows import FlowDetailScreen

        self.push_screen(FlowDetailScreen(flow_id))

    # --- MLflow health --------------------------------------------------------------------------

    @background(exclusive=True, group="mlflow-health")
    def _check_mlflow(self) -> None:
        from ame_tui.services.mlflow_data import check

        self.post_message(MlflowChecked(check(self.ctx.tracking_uri)))

    def mlflow_failed(self, detail: str) -> None:
        """A worker's MLflow call failed: say so and check again soon."""
        self.post_message(MlflowChecked(detail or "not answering"))

    def on_mlflow_checked(self, message: MlflowChecked) -> None:
        if self._mlflow_timer is not None:
            self._mlflow_timer.stop()
        if message.detail:
            delay = MLFLOW_BACKOFF[min(self._mlflow_failures, len(MLFLOW_BACKOFF) - 1)]
            self._mlflow_failures += 1
            self.mlflow_state = f"{message.detail} · retry in {delay:.0f}s"
        else:
            delay = MLFLOW_OK_POLL
            recovered = self._mlflow_failures > 0
            self._mlflow_failures = 0
            self.mlflow_state = "ok"
            if recovered:
                self.notify("MLflow answers again", title="MLflow")
        self._mlflow_timer = self.set_timer(delay, self._check_mlflow)

    @property
    def mlflow_ok(self) -> bool:
        return self.mlflow_state == "ok"

    # --- actions (each from a key, the palette or a view) ----------------------------------------

    def launch(self, what: str, label: str, **kwargs: Any) -> None:
        """Start `what` in a worker: run (a task), train/validate/deploy/undeploy (a flow),
        cancel (a run), cancel_flow."""
        action = {"run": "run_task", "cancel_flow": "cancel"}.get(what, what)
        if not self.allowed(action):
            self.notify("read-only: nothing can be changed", severity="warning")
            return
        if self.project is None and what not in ("cancel", "cancel_flow"):
            self.notify("the project is still loading", severity="warning")
            return
        self.notify(f"{label} …", title=what)
        if what == "cancel_flow":
            self._flows_cancelling.add(kwargs["flow_id"])
        self._launch(what, label, kwargs)

    @background(group="actions")
    def _launch(self, what: str, label: str, kwargs: dict[str, Any]) -> None:
        from ame_tui.services import actions

        info = self.project
        ctx = self.ctx
        try:
            if what == "run":
                self.post_message(
                    Launched(what, actions.run_task(ctx, info, kwargs["task"]), label)
                )
                return
            if what in ("rollback", "promote"):
                # A canary being watched ends at once (its flow does the rest) ...
                canary = actions.end_canary(ctx, kwargs["model"], what)
                if canary is not None:
                    done = "promoted" if what == "promote" else "rolled back"
                    self.post_message(Finished(what, f"{canary.title}: the canary is {done}"))
                elif what == "promote":
                    raise actions.ActionError(f"{kwargs['model']} has no canary running")
                else:  # ... else a roll-back serves the version served before, as a flow
                    record = actions.start_rollback(ctx, info, kwargs["model"])
                    self.post_message(FlowStarted(record))
                return
            if what in ("train", "validate", "deploy", "undeploy"):
                model, version = kwargs["model"], kwargs.get("version")
                force = bool(kwargs.get("force"))
                if what == "deploy" and not force:
                    try:  # asked here, so the user may insist before the flow starts
                        actions.check_deployable(ctx, info, model, version)
                    except actions.NeedsForce as exc:
                        self.post_message(ForceAsk(model, version, str(exc)))
                        return
                record = actions.start_flow(ctx, info, what, model, version, force)
                self.post_message(FlowStarted(record))
                return
            flow_id = None
            if what == "cancel":
                record = actions.cancel(ctx, kwargs["run_id"])
                text = f"run {record.id} {record.status.value}"
            elif what == "cancel_flow":
                flow = actions.cancel_flow(ctx, kwargs["flow_id"])
                text, flow_id = f"{flow.title}: flow {flow.id} {flow.status.value}", flow.id
            else:
                raise ValueError(what)
        except Exception as exc:  # noqa: BLE001 - Lifecycle/Registry/Backend/FlowError: one line
            self.post_message(ActionFailed(what, f"{label}: {one_line(exc)}"))
        else:
            self.post_message(Finished(what, text, flow_id=flow_id))

    def on_launched(self, message: Launched) -> None:
        record = message.result
        self.runs = [record, *[r for r in self.runs if r.id != record.id]]
        self.notify(f"{message.label}: run {record.id} {record.status.value}", title="started")
        self.open_run(record.id)

    def on_finished(self, message: Finished) -> None:
        if message.flow_id:
            self._flows_going.discard(message.flow_id)  # one toast for its end: this one
            self._flows_cancelling.discard(message.flow_id)
        self.notify(message.text, title=message.what, timeout=8)
        if message.what == "cancel":
            self.refresh_runs()
        if message.what == "cancel_flow":
            self.refresh_flows()
        self._refresh_screens()

    def _refresh_screens(self) -> None:
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_data", None)
            if refresh is not None:
                refresh()

    def on_force_ask(self, message: ForceAsk) -> None:
        from ame_tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.launch(
                    "deploy",
                    f"deploy {message.model} v{message.version}",
                    model=message.model,
                    version=message.version,
                    force=True,
                )

        self.push_screen(ConfirmScreen(f"{message.reason}.\nDeploy anyway?"), answer)

    def on_worker_crashed(self, message: WorkerCrashed) -> None:
        # a polling worker fails again at each poll: say each different failure once
        said = any((e.what, e.detail) == (message.what, message.detail) for e in self.worker_errors)
        self.worker_errors.append(message)
        del self.worker_errors[:-WORKER_ERRORS_KEPT]  # a failing poll must not grow it forever
        self.log.error(message.trace)
        if said:
            return
        self.notify(
            f"{message.what}: {message.detail}. This is a bug in the console; it keeps running.",
            title="internal error",
            severity="error",
            timeout=15,
        )

    def on_action_failed(self, message: ActionFailed) -> None:
        if message.what == "cancel_flow":
            self._flows_cancelling.clear()  # its flow's end is told when it comes
        self.notify(message.detail, title=f"{message.what} failed", severity="error", timeout=10)

    # --- the command palette ---------------------------------------------------------------------

    def get_system_commands(self, screen: Any) -> Any:
        # Textual's Quit and Keys would stand beside ours ("Quit": flows keep going; "Show
        # every key": all of the console's keys): keep one of each
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command

    def palette_commands(self, screen: Any = None) -> list[tuple[str, str, Any]]:
        """(title, help, callback) for every action that applies now: the views, the keys of
        the view the palette was opened on, and the actions on what the console knows of
        (tasks, models, versions, served models, runs and flows going on)."""
        from functools import partial

        out: list[tuple[str, str, Any]] = [
            (f"Go to {title}", f":{name}", partial(self.action_view, name))
            for name, title in VIEWS.items()
        ]
        out.append(("Show every key", "?", self.action_help))
        out += self._screen_commands(screen)
        out.append(("Filter runs", "/ in Runs", partial(self._in_view, "runs", "filter")))
        if not self.ctx.read_only:
            out += self._live_commands()
        info = self.project
        if info is not None and not self.ctx.read_only:
            for task in info.tasks:
                out.append(
                    (
                        f"Run task {task.name}",
                        "r in Tasks",
                        partial(self.launch, "run", f"run {task.name}", task=task.name),
                    )
                )
            for model in info.models:
                name = model.name
                out.append(
                    (
                        f"Train {name}",
                        "t in Models",
                        partial(self.launch, "train", f"train {name}", model=name),
                    )
                )
                versions = self.versions.get(name) or []
                if versions:
                    latest = versions[0].version
                    out.append(
                        (
                            f"Validate {name} v{latest}",
                            "v in Models",
                            partial(
                                self.launch,
                                "validate",
                                f"validate {name} v{latest}",
                                model=name,
                                version=latest,
                            ),
                        )
                    )
                    out.append(
                        (
                            f"Deploy {name} v{latest}",
                            "d in Models",
                            partial(
                                self.launch,
                                "deploy",
                                f"deploy {name} v{latest}",
                                model=name,
                                version=latest,
                            ),
                        )
                    )
                out.append(
                    (f"Undeploy {name}", "u in Models", partial(self.confirm_undeploy, name))
                )
                out.append(
                    (
                        f"Roll back {name}",
                        "b in Models: serve the version served before",
                        partial(self.confirm_rollback, name),
                    )
                )
        ui = self.ctx.mlflow_ui
        if ui:
            out.append(("Open the MLflow UI", ui, partial(self.open_url, ui)))
        out.append(("Quit", "q (flows and runs keep going)", self.exit))
        return out

    def _screen_commands(self, screen: Any) -> list[tuple[str, str, Any]]:
        """The keys the view (or detail) offers now, as commands: what its footer shows."""
        from functools import partial

        if screen is None or not hasattr(screen, "VIEW_TITLE"):
            return []
        out = []
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.node is self or not active.enabled or not binding.show:
                continue  # the app's own keys are listed once, above
            label = self.get_key_display(binding)
            out.append(
                (
                    f"{binding.description} ({screen.VIEW_TITLE})",
                    f"{label} in {screen.VIEW_TITLE}",
                    partial(self._run_on, active.node, binding.action),
                )
            )
        return out

    def _run_on(self, node: Any, action: str) -> None:
        self.call_later(self.run_action, action, node)

    def _in_view(self, view: str, action: str) -> None:
        """Open a view's list, then run one of its actions (`filter`)."""
        self.action_view(view)
        self.call_after_refresh(self.run_action, action, self.screen)

    def _live_commands(self) -> list[tuple[str, str, Any]]:
        """Cancel what goes on, smoke what is served."""
        from functools import partial

        out: list[tuple[str, str, Any]] = []
        for record in self.runs:
            if not record.status.finished:
                out.append(
                    (
                        f"Cancel run {record.id} ({record.task})",
                        "c in Runs",
                        partial(self.confirm_cancel, record.id, record.task),
                    )
                )
        for flow in self.flows:
            if not flow.status.finished:
                out.append(
                    (
                        f"Cancel flow {flow.id} ({flow.title})",
                        "c in Flows (its current run too)",
                        partial(self.confirm_cancel_flow, flow.id, flow.title),
                    )
                )
        served = [e for e in self.endpoints.values() if e.url]
        for endpoint in served:
            out.append(
                (
                    f"Smoke request to {endpoint.model} v{endpoint.version}",
                    f"s in Deployments: {endpoint.url}",
                    partial(self.open_smoke, endpoint),
                )
            )
        if not served:
            out.append(("Smoke request", "s in Deployments", partial(self.action_view, "deploy")))
        return out

    def open_smoke(self, endpoint: Any) -> None:
        from ame_tui.screens.dialogs import SmokeScreen

        self.push_screen(SmokeScreen(endpoint.model, endpoint.version, endpoint.url))

    def confirm_rollback(self, model: str) -> None:
        from ame_tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.launch("rollback", f"roll back {model}", model=model)

        self.push_screen(ConfirmScreen(f"Roll {model} back to the version served before?"), answer)

    def confirm_undeploy(self, model: str) -> None:
        from ame_tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.launch("undeploy", f"undeploy {model}", model=model)

        self.push_screen(ConfirmScreen(f"Stop serving {model}?"), answer)

    def confirm_cancel_flow(self, flow_id: str, title: str) -> None:
        from ame_tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.launch("cancel_flow", f"cancel {title} ({flow_id})", flow_id=flow_id)

        self.push_screen(
            ConfirmScreen(f"Cancel flow {flow_id} ({title})?\nIts current run is cancelled too."),
            answer,
        )

    def confirm_cancel(self, run_id: str, task: str) -> None:
        from ame_tui.screens.dialogs import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.launch("cancel", f"cancel {task} ({run_id})", run_id=run_id)

        self.push_screen(ConfirmScreen(f"Cancel run {run_id} ({task})?"), answer)
