"""The in-cluster driver of one flow: `python -m ame_core.runtime.kubernetes.flow_driver
[--namespace NS] [--job JOB] [--project-dir DIR] FLOW_ID`, or, under a CronJob,
`... --new KIND --model MODEL --project NAME [--schedule EXPR]`.

The command of a flow's driver Job (ame_core.runtime.kubernetes.flows). It connects with the
pod's ServiceAccount (or, run by hand or in tests, the kubeconfig), reads the flow's record
from its ConfigMap, and runs its unfinished steps with the same engine as the local driver, on
a KubernetesBackend whose MLflow is the cluster's (MLFLOW_TRACKING_URI). A pipeline's flow
needs no project: its one step carries the pipeline on from the pipeline's record. Every other
flow opens the project from the code shipped with it (--project-dir).

With `--new` (a model's monitoring on a schedule) the driver first records a new flow of its
own, naming its Job (AME_DRIVER_JOB, from the downward API) as the flow's first driver and
what was shipped at `ame schedule apply` (AME_FLOW_SHIP) as what a resumed attempt is given;
from then on it is an ordinary flow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ame_core.errors import one_line
from ame_core.flows.records import FLOW_STEPS, FlowRecord, FlowStatus, StepStatus
from ame_core.flows.store import FlowError
from ame_core.runtime.backend import BackendError
from ame_core.runtime.kubernetes import manifests as m

# How often the driver looks at its current run: every look is API calls, and a cluster's API
# server is shared (the local driver polls faster).
DEFAULT_POLL_SECONDS = 2.0


@dataclass
class PipelineOnly:
    """What a pipeline flow's step uses of a lifecycle: the backend."""

    backend: Any


def say(line: str) -> None:
    print(line, flush=True)


def _fail(store: Any, flow_id: str, reason: str) -> None:
    def fail(record: FlowRecord) -> None:
        if record.status.finished:
            return
        record.status, record.reason = FlowStatus.FAILED, reason
        for step in record.steps:
            if not step.status.finished:
                step.status = StepStatus.SKIPPED
        record.event(f"flow failed: {reason}")

    store.update(flow_id, fail)
    say(reason)


def open_lifecycle(record: FlowRecord, backend: Any, project_dir: Path | None, uri: str) -> Any:
    if record.kind == "pipeline":
        return PipelineOnly(backend)
    from ame_core.lifecycle import Lifecycle, load_project

    if project_dir is None:
        raise FlowError(f"a {record.kind} flow needs its project's code (--project-dir)")
    return Lifecycle(
        load_project(project_dir), backend, uri, say=lambda line: say(f"[lifecycle] {line}")
    )


def drive(
    flow_id: str,
    *,
    namespace: str | None,
    job: str | None,
    project_dir: Path | None,
    tracking_uri: str,
    backend: Any = None,
) -> int:
    from ame_core.flows.engine import FlowEngine
    from ame_core.flows.steps import user_error
    from ame_core.runtime.kubernetes import wheel
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    if backend is None:
        backend = KubernetesBackend(project_dir, namespace=namespace, tracking_uri=tracking_uri)
    backend.driving_flow = flow_id
    store = backend.flow_store()
    record = store.read(flow_id)
    if record.status.finished:
        say(f"flow {flow_id} has ended ({record.status.value}): nothing to do")
        return 0
    mine = (record.driver or {}).get("job")
    if job and mine and mine != job:
        # A newer attempt replaced this one (this pod was thought dead): one driver only.
        say(f"flow {flow_id} is driven by {mine}; {job} leaves")
        return 0
    wanted = ((record.driver or {}).get("ship") or {}).get("ame_version")
    have = wheel.ame_version()
    if wanted and wanted != have:
        _fail(
            store,
            flow_id,
            f"the driver image runs ame {have} but the flow was started by ame {wanted}: "
            "build the image of this version (deploy/Dockerfile) or unset AME_K8S_DRIVER_IMAGE "
            "to ship the client's own ame",
        )
        return 1
    pod = os.environ.get("HOSTNAME")
    if pod:
        record = store.update(flow_id, lambda r: r.driver.update({"pod": pod}))
    try:
        lifecycle = open_lifecycle(record, backend, project_dir, tracking_uri)
    except Exception as exc:  # noqa: BLE001 - the project cannot be read: say so, do not hang
        reason = user_error(exc) or (str(exc) if isinstance(exc, FlowError) else None)
        reason = reason or f"internal error: {type(exc).__name__}: {exc}"
        _fail(store, flow_id, f"cannot open the project: {reason}")
        return 1
    FlowEngine(store, record, lifecycle, say=say).drive()
    return 0


def start_new(
    kind: str,
    *,
    project: str,
    model: str | None,
    schedule: str | None,
    namespace: str | None,
    job: str,
    project_dir: Path | None,
    tracking_uri: str,
    ship: dict[str, Any],
    backend: Any = None,
) -> int:
    """Record a new flow driven by this Job (its first attempt), then drive it."""
    from ame_core.flows.control import new_flow_id
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    if backend is None:
        backend = KubernetesBackend(project_dir, namespace=namespace, tracking_uri=tracking_uri)
    params: dict[str, Any] = {"scheduled": time.strftime("%Y-%m-%d %H:%M")}
    if schedule:
        params["schedule"] = schedule
    record = FlowRecord.new(
        new_flow_id(),
        kind,
        project,
        "kubernetes",
        model=model,
        params=params,
        origin={"project_dir": str(project_dir or ""), "tracking_uri": tracking_uri},
    )
    record.driver = {"job": job, "attempt": 1, "launched_at": time.time(), "ship": ship}
    record.event(f"{record.title}: started by CronJob Job {job} ({schedule or 'scheduled'})")
    backend.flow_store().write(record)
    say(f"flow {record.id}: {record.title}")
    return drive(
        record.id,
        namespace=namespace,
        job=job,
        project_dir=project_dir,
        tracking_uri=tracking_uri,
        backend=backend,
    )


def _shipped() -> dict[str, Any]:
    raw = os.environ.get(m.FLOW_SHIP_ENV) or ""
    try:
        ship = json.loads(raw)
    except ValueError:
        ship = None
    if not isinstance(ship, dict) or not ship.get("image"):
        raise FlowError(f"--new needs what `ame schedule apply` shipped ({m.FLOW_SHIP_ENV})")
    return ship


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ame_core.runtime.kubernetes.flow_driver")
    parser.add_argument("flow_id", metavar="FLOW_ID", nargs="?")
    parser.add_argument("--namespace", help="the flow's namespace (default: the pod's)")
    parser.add_argument("--job", help="this driver's Job (a replaced attempt leaves)")
    parser.add_argument("--project-dir", type=Path, help="the project's shipped code")
    parser.add_argument(
        "--new",
        metavar="KIND",
        choices=sorted(kind for kind in FLOW_STEPS if kind != "pipeline"),
        help="record a new flow of KIND, then drive it",
    )
    parser.add_argument("--model", help="with --new: the flow's model")
    parser.add_argument("--project", help="with --new: the project's name")
    parser.add_argument("--schedule", help="with --new: the cron expression that started it")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if (args.new is None) == (args.flow_id is None):
        parser.error("give FLOW_ID, or --new KIND (with --model and --project)")
    if args.new and not (args.model and args.project):
        parser.error("--new needs --model and --project")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from ame_core.flows import engine

    try:
        engine.POLL_SECONDS = float(os.environ.get("AME_K8S_DRIVER_POLL") or DEFAULT_POLL_SECONDS)
    except ValueError:
        engine.POLL_SECONDS = DEFAULT_POLL_SECONDS
    uri = os.environ.get("MLFLOW_TRACKING_URI") or os.environ.get("AME_CLUSTER_MLFLOW_URI")
    if not uri:
        print("ame flow driver: MLFLOW_TRACKING_URI is not set", file=sys.stderr)
        return 2
    try:
        if args.new:
            job = args.job or os.environ.get(m.DRIVER_JOB_ENV)
            if not job:
                raise FlowError(f"--new needs its Job's name (--job or {m.DRIVER_JOB_ENV})")
            return start_new(
                args.new,
                project=args.project,
                model=args.model,
                schedule=args.schedule,
                namespace=args.namespace,
                job=job,
                project_dir=args.project_dir,
                tracking_uri=uri,
                ship=_shipped(),
            )
        return drive(
            args.flow_id,
            namespace=args.namespace,
            job=args.job,
            project_dir=args.project_dir,
            tracking_uri=uri,
        )
    except (BackendError, FlowError) as exc:
        # One line, never a traceback: the pod's log is what `kubectl logs` shows.
        print(f"ame flow driver: {one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
