"""Models: each model of ame.yml with its registered versions from MLflow, and its flow.

`t` trains, `v` validates the selected version, `d` deploys it, `u` undeploys the model, `b`
rolls it back to the version served before: each starts a flow, whose step shows in the FLOW
column (the last flow's outcome once it ended; a canary's split and figures while it is
watched, when `p` promotes it and `b` rolls it back at once). Below the table, the selected model's
deployment history (newest first).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from ame_core.errors import one_line
from ame_tui.screens.base import PolledView, age, now
from ame_tui.services.flows import FLOW_STYLE, where
from ame_tui.services.flows import version_of as flow_version
from ame_tui.widgets.table import selected_key, sync_rows
from ame_tui.workers import background

# Deployment events shown under the table for the selected model.
HISTORY_SHOWN = 5


class ModelsFetched(Message):
    def __init__(
        self,
        versions: dict[str, list[Any]],
        endpoints: dict[str, Any],
        history: dict[str, list[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.versions = versions
        self.endpoints = endpoints
        self.history = history or {}


def flow_cell(record: Any) -> Text:
    if record is None:
        return Text("")
    return Text(where(record), style=FLOW_STYLE.get(record.status.value, ""))


class ModelsView(PolledView):
    POLL_SECONDS = 3.0
    TICK_SECONDS = 1.0

    VIEW_TITLE = "Models"
    WANTS_RUNS = True
    WANTS_FLOWS = True
    BINDINGS: ClassVar[list[Any]] = [
        Binding("t", "train", "Train", id="train"),
        Binding("v", "validate", "Validate", id="validate"),
        Binding("d", "deploy", "Deploy", id="deploy"),
        Binding("u", "undeploy", "Undeploy", id="undeploy"),
        Binding("b", "rollback", "Roll back", id="rollback"),
        Binding("p", "promote", "Promote canary", id="promote"),
        Binding("enter", "open_run", "Training run", id="open_run"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_summary_table(
            "models",
            (
                "MODEL",
                "VERSION",
                "CREATED",
                "RUN",
                "METRICS",
                "VALIDATION",
                "DEPLOYED",
                "ALIASES",
                "FLOW",
            ),
        )
        yield Static("", id="models-history", classes="summary")

    def on_mount(self) -> None:
        self.versions: dict[str, list[Any]] = {}
        self.endpoints: dict[str, Any] = {}
        self.history: dict[str, list[Any]] = {}
        self.loaded = False
        self.error: str | None = None
        self.start_polling()
        self.watch(self.app, "project", lambda _: self.refresh_data(), init=False)
        self.watch(self.app, "mlflow_state", self._mlflow_changed, init=False)
        self.watch(self.app, "flows", lambda _: self._show(), init=False)
        self._show()

    def _mlflow_changed(self, state: str) -> None:
        if state == "ok" and self.error:
            self.refresh_data()

    def fetch(self, info: Any) -> None:
        self._fetch([m.name for m in info.models], info.name)

    @background(exclusive=True, group="models")
    def _fetch(self, names: list[str], project: str) -> None:
        from ame_core.registry import Registry, RegistryError
        from ame_tui.services import mlflow_data

        try:
            mlflow_data.client(self.ame.ctx.tracking_uri)  # quiets MLflow's loggers first
            registry = Registry(self.ame.ctx.tracking_uri)
            versions = {}
            try:
                for name in names:
                    versions[name] = registry.versions(name)
            except RegistryError as exc:
                self.ame.mlflow_failed(one_line(exc))
                self.post_message(ModelsFetched({"__error__": [one_line(exc)]}, {}))
                return
            endpoints: dict[str, Any] = {}
            ctx = self.ame.ctx
            try:
                for endpoint in ctx.backend().list_endpoints(ctx.run_context(project)):
                    endpoints[endpoint.model] = endpoint
            except Exception:  # noqa: BLE001 - the deployments view reports backend trouble
                endpoints = dict(self.endpoints)
            self.post_message(ModelsFetched(versions, endpoints, self._history(names, project)))
        finally:
            self._busy = False

    def _history(self, names: list[str], project: str) -> dict[str, list[Any]]:
        """Each model's deployment history (in the worker); what was read before on failure."""
        from ame_core import history
        from ame_core.tracking import TrackingError

        ctx = self.ame.ctx
        try:
            return {
                name: history.events(ctx.tracking_uri, ctx.project_dir, project, name)
                for name in names
            }
        except TrackingError:
            return dict(self.history)

    def on_models_fetched(self, message: ModelsFetched) -> None:
        if "__error__" in message.versions:
            self.error = message.versions["__error__"][0]
        else:
            self.error = None
            self.versions = message.versions
            self.endpoints = message.endpoints
            self.history = message.history
            self.ame.versions = dict(message.versions)
            self.ame.endpoints = dict(message.endpoints)
            self.loaded = True
        self._show()

    def _show(self) -> None:
        info = self.ame.project
        summary = self.query_one("#models-summary", Static)
        if info is None:
            summary.update(" reading ame.yml …")
            return
        clock = now(self.app)
        rows: list[tuple[str, tuple[Any, ...]]] = []
        for model in info.models:
            versions = self.versions.get(model.name, [])
            endpoint = self.endpoints.get(model.name)
            flow = self._flow_of(model.name)
            # the flow shows on its version's row, else on the model's first row
            flow_row = flow_version(flow) if flow is not None else None
            if flow_row not in {mv.version for mv in versions}:
                flow_row = versions[0].version if versions else ""
            if not versions:
                note = "waiting for MLflow …" if not self.loaded else "no versions yet: t trains"
                cells = (Text(model.name, "bold"), "—", "", "", Text(note, "grey50"), "", "", "")
                rows.append((f"{model.name}/", (*cells, flow_cell(flow))))
            for mv in versions:
                cells = self._cells(model.name, mv, endpoint, clock)
                shown = flow if mv.version == flow_row else None
                rows.append((f"{model.name}/{mv.version}", (*cells, flow_cell(shown))))
        sync_rows(self.query_one(DataTable), rows)
        text = Text(f" {len(info.models)} models")
        for model in info.models:
            parts = [f"train: {model.training or '—'}", f"validate: {model.validation or '—'}"]
            if model.auto_deploy:
                parts.append("autoDeploy")
            text.append(f" │ {model.name} ", style="bold")
            text.append(", ".join(parts), style="grey50")
        if self.error:
            text.append(f"  MLflow: {self.error} (showing what was last read)", style="red")
        elif not self.loaded:  # ame.yml is read: what takes the time is MLflow
            text = Text(f" {len(info.models)} models │ ")
            text.append(
                f"asking MLflow ({self.ame.ctx.mlflow_display}) for their versions …",
                style="yellow",
            )
        summary.update(text)
        self._show_history()

    def _show_history(self) -> None:
        model, _ = self._selected()
        events = self.history.get(model or "", [])
        panel = self.query_one("#models-history", Static)
        if not model:
            panel.update("")
            return
        clock = now(self.app)
        text = Text(f" {model}: deployment history", style="bold")
        if not events:
            text.append("  none yet (d deploys the selected version)", style="grey50")
        for event in events[:HISTORY_SHOWN]:
            style = "green" if event.outcome == "succeeded" else "red"
            who = f" by {event.user}" if event.user else ""
            text.append(f"\n  {age(clock - event.at) + ' ago':>9}  ", style="grey50")
            text.append(event.summary, style=style)
            text.append(who, style="grey50")
        if len(events) > HISTORY_SHOWN:
            text.append(f"\n  … {len(events) - HISTORY_SHOWN} more: ame model history {model}")
        panel.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_history()

    def _flow_of(self, model: str) -> Any:
        """The model's flow that goes on (the newest), else its last one; None if none."""
        flows = [f for f in self.ame.flows if f.model == model]
        going = next((f for f in flows if not f.status.finished), None)
        return going or (flows[0] if flows else None)

    def _cells(self, model: str, mv: Any, endpoint: Any, clock: float) -> tuple[Any, ...]:
        from ame_core.registry import DEPLOYED_ALIAS
        from ame_tui.widgets.metric_chart import fmt

        metrics = " ".join(f"{k}={fmt(v)}" for k, v in mv.key_metrics().items())
        verdict = mv.verdict
        if verdict is None:
            verdict_text = Text("—", "grey50")
        elif verdict.passed:
            verdict_text = Text("✔ passed", "green")
        else:
            verdict_text = Text("✖ failed", "red")
        deployed = Text("")
        if endpoint is not None and str(endpoint.version) == mv.version:
            status = endpoint.status.value
            deployed = Text(f"● {status}", "green" if status == "ready" else "cyan")
        elif DEPLOYED_ALIAS in mv.aliases and endpoint is None:
            deployed = Text("alias, not served", "grey50")
        run = next(
            (r.id for r in self.ame.runs if r.mlflow_run_id and r.mlflow_run_id == mv.run_id), None
        )
        return (
            Text(model, "bold"),
            f"v{mv.version}",
            age(clock - mv.created_at) + " ago" if mv.created_at else "",
            run or (mv.run_id or "")[:8],
            metrics,
            verdict_text,
            deployed,
            " ".join(f"@{a}" for a in mv.aliases),
        )

    # --- actions ------------------------------------------------------------------------------

    def _selected(self) -> tuple[str | None, str | None]:
        key = selected_key(self.query_one(DataTable))
        if not key:
            info = self.ame.project
            return (info.models[0].name if info and info.models else None), None
        model, _, version = key.partition("/")
        return model, (version or None)

    def action_train(self) -> None:
        model, _ = self._selected()
        if model:
            self.ame.launch("train", f"train {model}", model=model)

    def action_validate(self) -> None:
        model, version = self._selected()
        if model and version:
            self.ame.launch(
                "validate", f"validate {model} v{version}", model=model, version=version
            )
        elif model:
            self.notify(f"{model} has no version yet: t trains it", severity="warning")

    def action_deploy(self) -> None:
        model, version = self._selected()
        if model and version:
            self.ame.launch("deploy", f"deploy {model} v{version}", model=model, version=version)
        elif model:
            self.notify(f"{model} has no version yet: t trains it", severity="warning")

    def action_undeploy(self) -> None:
        model, _ = self._selected()
        if model:
            self.ame.confirm_undeploy(model)

    def action_rollback(self) -> None:
        model, _ = self._selected()
        if model:
            self.ame.confirm_rollback(model)

    def action_promote(self) -> None:
        model, _ = self._selected()
        if model:
            self.ame.launch("promote", f"promote the canary of {model}", model=model)

    def action_open_run(self) -> None:
        """The AME run that trained the selected version, if this backend knows it."""
        model, version = self._selected()
        mv = next((v for v in self.versions.get(model or "", []) if v.version == version), None)
        if mv is None:
            return
        record = next((r for r in self.ame.runs if r.mlflow_run_id == mv.run_id), None)
        if record is None:
            self.notify(f"MLflow run {mv.run_id} was not started by this backend")
            return
        self.ame.open_run(record.id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()
