"""Deterministic data for the TUI tests, the snapshots and the README screenshots.

A test double of the Backend interface (runs and endpoints in memory, logs in real files) and a
real MLflow sqlite store filled with runs, metric histories and registered model versions.
Times are fixed so the screens render the same on every machine.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.style import Style

from ame_core.flows.local import LocalFlowStore
from ame_core.flows.records import FlowRecord
from ame_core.runtime.backend import (
    Backend,
    BackendError,
    Endpoint,
    EndpointStatus,
    LogChunk,
    RunContext,
    RunRecord,
    RunStatus,
)

NOW = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC
REPO = Path(__file__).resolve().parents[2]

PROJECT_YML = """\
project: quickstart

templates:
  - name: small_cpu
    resources:
      cpu: 1
      memory: 1Gi

tasks:
  - name: train_logreg
    fromTemplate: small_cpu
    executor: !pip
      pythonVersion: "3.11"
      command: python train.py

  - name: validate_logreg
    fromTemplate: small_cpu
    executor: !pip
      pythonVersion: "3.11"
      command: python validate.py
    environment:
      - key: MIN_ACCURACY
        val: "0.8"

  - name: nightly_report
    executor: !custom
      pythonVersion: 3.10
      command: python report.py
    resources:
      cpu: 500m
      memory: 256Mi
    triggers:
      schedule: "0 3 * * *"

  - name: prepare_and_train
    pipeline:
      - taskRef: nightly_report
      - taskRef: train_logreg

models:
  - name: logreg
    training:
      task:
        taskRef: train_logreg
    validation:
      task:
        taskRef: validate_logreg
    deployment:
      resources:
        cpu: 1
        memory: 1Gi
      autoDeploy: true
"""

LOG_LINES = [
    "Collecting mlflow==3.17.2 (from -r requirements.txt (line 1))",
    "Successfully installed mlflow-3.17.2 pandas-3.1.1 scikit-learn-1.9.1",
    "epoch 1/5 loss=0.6931 accuracy=0.6200",
    "epoch 2/5 loss=0.4410 accuracy=0.8350",
    "epoch 3/5 loss=0.2987 accuracy=0.9120",
    "epoch 4/5 loss=0.2210 accuracy=0.9440",
    "epoch 5/5 loss=0.1893 accuracy=0.9580",
    "Registered model 'logreg' version 3",
    "trained logreg v3: accuracy=0.9580 f1=0.9667 roc_auc=0.9953",
]


def write_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "ame.yml").write_text(PROJECT_YML, encoding="utf-8")
    # the files its tasks name, so lint finds what a real project has (and says nothing)
    (root / "requirements.txt").write_text("mlflow\nscikit-learn\n", encoding="utf-8")
    for script in ("train.py", "validate.py", "report.py"):
        (root / script).write_text("print('demo')\n", encoding="utf-8")
    return root


class ThreadFlowStore(LocalFlowStore):
    """The real flow store (records under the project's `.ame/flows/`), whose drivers are
    threads of this process running the real engine on the test-double backend, instead of
    detached processes (which could not see the test double's runs)."""

    def __init__(self, project_dir: Path, backend: Backend, tracking_uri: str) -> None:
        super().__init__(project_dir)
        self.backend = backend
        self.tracking_uri = tracking_uri
        self.threads: dict[str, threading.Thread] = {}

    def launch(self, record: FlowRecord) -> None:
        thread = threading.Thread(target=self._drive, args=(record.id,), daemon=True)
        self.threads[record.id] = thread
        record.driver = {"thread": record.id}
        thread.start()

    def _drive(self, flow_id: str) -> None:
        from ame_core.flows.engine import FlowEngine
        from ame_core.lifecycle import Lifecycle, load_project

        lifecycle = Lifecycle(load_project(self.project_dir), self.backend, self.tracking_uri)
        FlowEngine(self, self.read(flow_id), lifecycle, say=lambda _line: None).drive()

    def driver_alive(self, record: FlowRecord) -> bool:
        thread = self.threads.get(record.id)
        return (thread is not None and thread.is_alive()) or super().driver_alive(record)

    def stop(self) -> None:
        """Cancel what still goes on (its runs never end by themselves) and wait for it."""
        for flow_id, thread in self.threads.items():
            if thread.is_alive():
                self.request_cancel(flow_id)
        for thread in self.threads.values():
            thread.join(10)


class FakeBackend(Backend):
    """The Backend interface in memory: what a test controls, deterministic ids and times."""

    name = "local"

    def __init__(self, log_dir: Path, smoke_url: str | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.runs: dict[str, RunRecord] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.smoke_url = smoke_url
        self.submitted: list[tuple[str, RunContext]] = []
        self.cancelled: list[str] = []
        self.fail_list = False
        self._lock = threading.Lock()
        self._counter = 0
        self.flows: ThreadFlowStore | None = None

    def use_flows(self, project_dir: Path, tracking_uri: str) -> ThreadFlowStore:
        self.flows = ThreadFlowStore(project_dir, self, tracking_uri)
        return self.flows

    # helpers for tests
    def add_run(self, task: str, status: RunStatus, created: float, **extra: Any) -> RunRecord:
        with self._lock:
            self._counter += 1
            run_id = extra.pop("id", f"{task[:8]}-{self._counter:03d}")
        log = self.log_dir / f"{run_id}.log"
        if not log.exists():
            log.write_text("", encoding="utf-8")
        record = RunRecord(
            id=run_id,
            project="quickstart",
            task=task,
            backend="local",
            status=status,
            created_at=created,
            started_at=extra.pop("started_at", created + 2),
            log_path=str(log),
            **extra,
        )
        if status.finished and record.ended_at is None:
            record.ended_at = (record.started_at or created) + 41
        self.runs[run_id] = record
        return record

    # the interface
    def submit(self, task: Any, context: RunContext) -> RunRecord:
        self.submitted.append((task.name, context))
        return self.add_run(
            task.name,
            RunStatus.RUNNING,
            NOW,
            kind=context.kind,
            model_name=context.model_name,
            model_version=context.model_version,
            resources={k: str(v) for k, v in (task.task.resources or {}).items()},
        )

    def list_runs(self, project: str | None = None) -> list[RunRecord]:
        if self.fail_list:
            raise BackendError("cannot list runs: the backend is down")
        return sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)

    def get_run(self, run_id: str) -> RunRecord:
        try:
            return self.runs[run_id]
        except KeyError:
            raise BackendError(f"no run {run_id}") from None

    def read_logs(self, run_id: str, offset: int = 0, limit: int | None = None) -> LogChunk:
        path = Path(self.get_run(run_id).log_path or "")
        data = path.read_bytes()[offset:] if path.exists() else b""
        return LogChunk(data.decode("utf-8", "replace"), offset + len(data))

    def cancel(self, run_id: str) -> RunRecord:
        record = self.get_run(run_id)
        self.cancelled.append(run_id)
        if not record.status.finished:
            record.status = RunStatus.CANCELLED
            record.ended_at = NOW + 30
            record.reason = "cancelled by the user"
        return record

    def deploy(self, model: str, version: str, context: RunContext, deployment: Any) -> Endpoint:
        endpoint = Endpoint(
            model,
            str(version),
            "local",
            EndpointStatus.READY,
            self.smoke_url or "http://127.0.0.1:5001",
            replicas=1,
            ready_replicas=1,
        )
        self.endpoints[model] = endpoint
        return endpoint

    def undeploy(self, model: str, context: RunContext) -> None:
        self.endpoints.pop(model, None)

    def endpoint(self, model: str, context: RunContext) -> Endpoint | None:
        return self.endpoints.get(model)

    def list_endpoints(self, context: RunContext) -> list[Endpoint]:
        return list(self.endpoints.values())

    def flow_store(self) -> Any:
        if self.flows is None:
            raise BackendError("the test backend was given no project for flows (use_flows)")
        return self.flows


def fill_backend(backend: FakeBackend, mlflow_runs: dict[str, str]) -> None:
    """A history of runs: succeeded trainings (linked to MLflow runs), a failure, a pipeline."""
    for i, version in enumerate(("1", "2", "3")):
        record = backend.add_run(
            "train_logreg",
            RunStatus.SUCCEEDED,
            NOW - 86400 * (3 - i) - 600,
            id=f"train-00{i + 1}",
            kind="training",
            model_name="logreg",
            resources={"cpu": "1", "memory": "1Gi"},
            mlflow_run_id=mlflow_runs.get(f"train-{version}"),
            exit_code=0,
        )
        Path(record.log_path).write_text("\n".join(LOG_LINES) + "\n", encoding="utf-8")
    backend.add_run(
        "validate_logreg",
        RunStatus.FAILED,
        NOW - 3600 * 5,
        id="validate-001",
        kind="validation",
        model_name="logreg",
        model_version="1",
        exit_code=1,
        reason="exit code 1",
        resources={"cpu": "1", "memory": "1Gi"},
    )
    backend.add_run(
        "validate_logreg",
        RunStatus.SUCCEEDED,
        NOW - 3600 * 2,
        id="validate-002",
        kind="validation",
        model_name="logreg",
        model_version="3",
        exit_code=0,
        resources={"cpu": "1", "memory": "1Gi"},
    )
    step = backend.add_run(
        "nightly_report",
        RunStatus.SUCCEEDED,
        NOW - 1200,
        id="report-001",
        kind="task",
        resources={"cpu": "500m", "memory": "256Mi"},
        exit_code=0,
    )
    train = backend.add_run(
        "train_logreg",
        RunStatus.RUNNING,
        NOW - 300,
        id="train-004",
        kind="task",
        resources={"cpu": "1", "memory": "1Gi"},
        started_at=NOW - 250,
        mlflow_run_id=mlflow_runs.get("train-4"),
    )
    Path(train.log_path).write_text("\n".join(LOG_LINES[:5]) + "\n", encoding="utf-8")
    pipeline = backend.add_run(
        "prepare_and_train",
        RunStatus.RUNNING,
        NOW - 1260,
        id="pipeline-001",
        kind="pipeline",
        step_ids=["report-001", "train-004"],
        started_at=NOW - 1250,
    )
    step.parent_id = train.parent_id = pipeline.id
    backend.endpoints["logreg"] = Endpoint(
        "logreg",
        "3",
        "local",
        EndpointStatus.READY,
        backend.smoke_url or "http://127.0.0.1:5001",
        replicas=1,
        ready_replicas=1,
    )


def tracking_uri(project_dir: Path) -> str:
    return f"sqlite:///{project_dir.resolve() / '.ame' / 'mlflow.db'}"


def fill_mlflow(project_dir: Path, real_model: bool = False) -> dict[str, str]:
    """Runs with metric histories and three registered versions of `logreg` in a real sqlite
    store; returns {"train-1": mlflow_run_id, ...}. `real_model` logs a real scikit-learn
    model with an input example as version 4 (for the smoke request)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    store = project_dir / ".ame"
    store.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(project_dir)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment(
        "quickstart", artifact_location=(store / "mlartifacts").resolve().as_uri()
    )
    runs: dict[str, str] = {}
    accuracies = {"1": 0.912, "2": 0.937, "3": 0.958, "4": 0.931}
    for version, final in accuracies.items():
        start = int((NOW - 86400 * (4 - int(version)) - 600) * 1000)
        run = client.create_run(experiment, start_time=start, run_name=f"train_logreg-{version}")
        run_id = run.info.run_id
        history = [final * (1 - 0.5 * 0.55**step) for step in range(12)]
        metrics = [
            Metric("accuracy", v, start + step * 1000, step) for step, v in enumerate(history)
        ]
        metrics += [
            Metric("loss", 0.7 * 0.75**step, start + step * 1000, step) for step in range(12)
        ]
        metrics += [
            Metric("f1", final + 0.008, start + 12000, 0),
            Metric("roc_auc", min(0.999, final + 0.037), start + 12000, 0),
        ]
        params = [Param("C", "1.0"), Param("seed", "42"), Param("test_size", "0.25")]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.log_text(run_id, "confusion matrix\n", "reports/confusion.txt")
        client.log_dict(run_id, {"accuracy": final}, "metrics.json")
        runs[f"train-{version}"] = run_id
        if version != "4":
            client.set_terminated(run_id, "FINISHED", end_time=start + 41000)
    client.create_registered_model("logreg")
    for version in ("1", "2", "3"):
        client.create_model_version(
            "logreg", f"runs:/{runs['train-' + version]}/model", runs["train-" + version]
        )
    from ame_core.registry import Registry

    registry = Registry(uri)
    registry.set_verdict("logreg", "1", False, "validate-001", reason="accuracy 0.912 < 0.92")
    registry.set_verdict("logreg", "3", True, "validate-002")
    registry.set_deployed("logreg", "3")
    client.set_registered_model_alias("logreg", "champion", "3")
    from ame_core import history

    for event in (
        history.DeploymentEvent("logreg", "deploy", "1", user="alice", at=NOW - 86400 * 3),
        history.DeploymentEvent(
            "logreg", "deploy", "2", from_version="1", outcome="failed", user="alice",
            reason="v2 did not answer /ping in 300 s", at=NOW - 86400 * 2,
        ),
        history.DeploymentEvent(
            "logreg", "deploy", "3", from_version="1", strategy="canary", user="bob",
            at=NOW - 86400 + 600, metrics={"canary_error_rate": 0.0},
        ),
    ):  # fmt: skip
        history.record(uri, project_dir, "quickstart", event)
    con = sqlite3.connect(store / "mlflow.db")
    with con:
        for version in ("1", "2", "3"):
            created = int((NOW - 86400 * (4 - int(version)) - 500) * 1000)
            con.execute(
                "update model_versions set creation_time=?, last_updated_time=? "
                "where name='logreg' and version=?",
                (created, created, int(version)),
            )
        # verdict times are machine time: fix them too
        con.execute(
            "update model_version_tags set value='2026-01-01T08:00:00+00:00' "
            "where key='ame.validation.time'"
        )
    con.close()
    return runs


def make_context(project_dir: Path, backend: Backend, read_only: bool = False):
    from ame_tui.services.context import AppContext

    return AppContext(
        project_dir=project_dir.resolve(),
        project_file=project_dir / "ame.yml",
        tracking_uri=tracking_uri(project_dir),
        backend_factory=lambda: backend,
        backend_label="local",
        read_only=read_only,
        clock=lambda: NOW,
    )


def build_demo(root: Path) -> tuple[Path, FakeBackend]:
    """A project with MLflow data and a filled test-double backend under `root`."""
    if root.exists():
        shutil.rmtree(root)
    project = write_project(root / "quickstart")
    runs = fill_mlflow(project)
    backend = FakeBackend(root / "logs")
    fill_backend(backend, runs)
    return project, backend


async def wait_for(pilot, condition, timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until `condition()` holds (workers are threads: give them time).

    A worker that failed (reported by the console, or fatal to a plain app) is a bug: say so at
    once instead of waiting out the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        failure = pilot.app._exception
        if failure is not None:
            raise AssertionError(f"the app failed while waiting for {what or condition}") from (
                getattr(failure, "error", None) or failure
            )
        crashed = getattr(pilot.app, "worker_errors", None)
        if crashed:
            raise AssertionError(
                f"a worker failed while waiting for {what or condition}:\n" + crashed[0].trace
            )
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


# The pieces of text of the app's screenshot (App.export_screenshot, an SVG drawn by Rich):
# one <text> element per run of cells in one style, placed by cell and line.
_SVG_TEXT = re.compile(
    r'<text class="[^"]*-(r\d+)" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    r'clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>'
)
_SVG_STYLE = re.compile(r"\.[\w-]*-(r\d+) \{ ([^}]*) \}")


def screen_pieces(app) -> list[tuple[int, int, str, Style]]:
    """What the terminal shows: (line, column, text, style) for each piece of text, in order;
    the style has the piece's colour and boldness."""
    svg = app.export_screenshot()
    styles = {name: _svg_style(rules) for name, rules in _SVG_STYLE.findall(svg)}
    pieces = []
    for name, x, length, line, escaped in _SVG_TEXT.findall(svg):
        text = html.unescape(escaped).replace("\xa0", " ")
        column = round(float(x) / (float(length) / len(text))) if text else 0
        pieces.append((int(line), column, text, styles.get(name, Style())))
    return pieces


def _svg_style(rules: str) -> Style:
    fill = re.search(r"fill: (#[0-9a-fA-F]{6})", rules)
    return Style(color=fill.group(1) if fill else None, bold="font-weight: bold" in rules)


def screen_text(app) -> str:
    """What the terminal shows, as text."""
    lines: dict[int, str] = {}
    for line, column, text, _style in screen_pieces(app):
        shown = lines.get(line, "")
        lines[line] = shown + " " * max(0, column - cell_len(shown)) + text
    count = app.size.height
    return "\n".join(lines.get(y, "").rstrip() for y in range(count))


def write_flows(project_dir: Path) -> list[FlowRecord]:
    """Three real flow records under the project's `.ame/flows/` (what `ame model …` writes):
    a train flow at its validation step, whose driver is this very process (so it is alive),
    a deploy that succeeded and a validation that failed."""
    from ame_core.flows.records import FlowStatus, StepStatus
    from ame_core.runtime import procs

    store = LocalFlowStore(project_dir)

    def flow(flow_id: str, kind: str, created: float, params: dict[str, Any]) -> FlowRecord:
        record = FlowRecord.new(flow_id, kind, "quickstart", "local", model="logreg", params=params)
        record.created_at, record.started_at = created, created + 1
        record.origin = {"project_dir": str(project_dir)}
        record.events = [{"time": created, "text": f"{record.title}: started"}]
        return record

    def step(
        record: FlowRecord,
        name: str,
        status: StepStatus,
        start: float,
        end: float | None,
        note: str | None = None,
        run_id: str | None = None,
    ) -> None:
        s = record.step(name)
        s.status, s.started_at, s.ended_at, s.note, s.run_id = status, start, end, note, run_id
        if note:
            record.events.append({"time": end or start, "text": f"{name}: {note}"})

    train = flow("flow-20260101-095500-a1b2c3", "train", NOW - 300, {"deploy": None})
    train.status, train.params["version"] = FlowStatus.RUNNING, "4"
    step(
        train,
        "train",
        StepStatus.DONE,
        NOW - 299,
        NOW - 250,
        "training run train-004 succeeded",
        "train-004",
    )
    step(
        train,
        "register",
        StepStatus.DONE,
        NOW - 250,
        NOW - 249,
        "training run train-004 registered logreg v4",
    )
    step(train, "validate", StepStatus.RUNNING, NOW - 249, None, None, "validate-002")
    train.events.append(
        {"time": NOW - 248, "text": "validate: run validate-002 (validate_logreg) running"}
    )
    train.driver = {"pid": os.getpid(), "start": procs.start_time(os.getpid())}

    deploy = flow(
        "flow-20260101-070000-d4e5f6", "deploy", NOW - 3 * 3600, {"version": "3", "force": False}
    )
    deploy.status, deploy.ended_at = FlowStatus.SUCCEEDED, NOW - 3 * 3600 + 14
    step(deploy, "resolve", StepStatus.DONE, NOW - 3 * 3600 + 1, NOW - 3 * 3600 + 1, "logreg v3")
    step(
        deploy,
        "check",
        StepStatus.DONE,
        NOW - 3 * 3600 + 1,
        NOW - 3 * 3600 + 2,
        "logreg v3 may be deployed",
    )
    step(
        deploy,
        "deploy",
        StepStatus.DONE,
        NOW - 3 * 3600 + 2,
        NOW - 3 * 3600 + 14,
        "logreg v3 is served at http://127.0.0.1:5001",
    )
    deploy.events.append({"time": deploy.ended_at, "text": "flow succeeded"})

    failed = flow("flow-20260101-050000-0f9e8d", "validate", NOW - 5 * 3600, {"version": "1"})
    failed.status, failed.ended_at = FlowStatus.FAILED, NOW - 5 * 3600 + 41
    failed.reason = "logreg v1 failed validation (run validate-001): accuracy 0.912 < 0.92"
    step(failed, "resolve", StepStatus.DONE, NOW - 5 * 3600 + 1, NOW - 5 * 3600 + 1, "logreg v1")
    step(
        failed,
        "validate",
        StepStatus.FAILED,
        NOW - 5 * 3600 + 1,
        NOW - 5 * 3600 + 41,
        failed.reason,
        "validate-001",
    )
    failed.events.append({"time": failed.ended_at, "text": f"flow failed: {failed.reason}"})

    records = [train, deploy, failed]
    for record in records:
        store.write(record)
    return records


class SmokeModel:
    """A real HTTP server that answers /invocations like a served model (sum of each row) and
    keeps the bodies it was sent."""

    def __init__(self) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen: list[dict] = []
        self.seen = seen

        class Model(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append(body)
                rows = body.get("inputs") or body.get("dataframe_split", {}).get("data") or []
                answer = json.dumps({"predictions": [sum(row) for row in rows]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Model)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> SmokeModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
