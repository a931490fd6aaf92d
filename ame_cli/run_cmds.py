"""Running tasks: `ame task list|run`, `ame runs`, `ame logs`, `ame cancel`, and the local
scheduler (`ame schedule run|start|stop|status`; `ame scheduler` is the older spelling)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ame_cli.main import UsageError, project_dir_or_exit
from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    task = subparsers.add_parser(
        "task", help="list and run tasks", description="List and run tasks."
    )
    task_sub = task.add_subparsers(dest="task_command", metavar="ACTION", required=True)
    p_list = task_sub.add_parser("list", help="the project's tasks")
    p_list.add_argument("--json", action="store_true")
    p_list.set_defaults(func=run_task_list)
    p_run = task_sub.add_parser(
        "run",
        help="run a task or pipeline",
        description="Run a task. By default follows its log and exits with its exit code; "
        "Ctrl-C detaches (the run goes on), `ame cancel RUN` stops it.",
    )
    p_run.add_argument("name", metavar="NAME")
    p_run.add_argument("--detach", "-d", action="store_true", help="print the run id and return")
    p_run.add_argument(
        "--dry-run", action="store_true", help="print the Kubernetes objects (kubernetes backend)"
    )
    p_run.add_argument(
        "--allow-dirty", action="store_true", help="run uncommitted changes (kubernetes backend)"
    )
    p_run.add_argument("--json", action="store_true", help="print the run record as JSON")
    p_run.add_argument(
        "--ignore-policy",
        action="store_true",
        help="run although a team policy forbids it (recorded on the run)",
    )
    p_run.set_defaults(func=run_task_run)

    runs = subparsers.add_parser("runs", help="list runs", description="List runs, newest first.")
    runs.add_argument("--all", action="store_true", help="every run (default: the 20 newest)")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=run_runs)

    logs = subparsers.add_parser("logs", help="print a run's log")
    logs.add_argument("run", metavar="RUN", help="run id (or an unambiguous part of it)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until it ends")
    logs.add_argument("--offset", type=int, default=0, help="start at this byte offset")
    logs.set_defaults(func=run_logs)

    cancel = subparsers.add_parser("cancel", help="stop a run and everything it started")
    cancel.add_argument("run", metavar="RUN")
    cancel.add_argument("--json", action="store_true")
    cancel.set_defaults(func=run_cancel)

    # `ame schedule run|start|stop|status` (cluster_cmds adds them to `ame schedule`); the
    # older spelling `ame scheduler [ACTION]` still works, unlisted.
    sched = subparsers.add_parser("scheduler", description=SCHEDULER_HELP)
    sched.add_argument(
        "action", nargs="?", default="run", choices=("run", "start", "stop", "status")
    )
    sched.add_argument("--json", action="store_true", help="status as JSON")
    sched.set_defaults(func=run_scheduler)


SCHEDULER_HELP = (
    "Start tasks with `triggers.schedule` (and models' monitoring schedules) when they are "
    "due; each firing is a flow. `run` runs in the foreground until Ctrl-C; `start` runs it "
    "detached, `stop` stops it, `status` tells. Flows it started go on when it stops. One "
    "scheduler per project."
)
NOTHING_TO_SCHEDULE = (
    "nothing to schedule: no task has `triggers.schedule` and no model has `monitoring.schedule`"
)


def add_scheduler_actions(sub: SubcommandGroup) -> None:
    """The local scheduler's actions, as sub-commands of `ame schedule`."""
    helps = {
        "run": "run the scheduler in the foreground (Ctrl-C stops it)",
        "start": "start the scheduler detached",
        "stop": "stop the detached scheduler (flows it started go on)",
        "status": "is the scheduler running, and what it schedules",
    }
    for action, text in helps.items():
        p = sub.add_parser(action, help=text, description=SCHEDULER_HELP)
        if action == "status":
            p.add_argument("--json", action="store_true", help="print JSON")
        else:
            p.set_defaults(json=False)
        p.set_defaults(func=run_scheduler, action=action)


# --- shared helpers --------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Any:
    from ame_cli.main import load_project_or_exit

    return load_project_or_exit(args)


def _project_dir(args: argparse.Namespace) -> Path:
    return project_dir_or_exit(args.project)


def _backend(args: argparse.Namespace, project_dir: Path) -> Any:
    from ame_core.runtime.backend import BackendError
    from ame_core.runtime.select import get_backend

    try:
        return get_backend(
            args.backend, project_dir, context=args.context, namespace=args.namespace
        )
    except BackendError as exc:
        raise UsageError(str(exc)) from None


def _tracking_uri(args: argparse.Namespace, project_dir: Path) -> str:
    from ame_core.tracking import tracking_uri_for

    return tracking_uri_for(project_dir, args.mlflow_uri)


def _age(ts: float | None) -> str:
    if not ts:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


# --- ame task list / run -----------------------------------------------------------------------


def _executor_text(task: Any) -> str:
    if task.pipeline:
        return f"pipeline ({len(task.pipeline)} steps)"
    if task.executor is None:
        return "-"
    variant = task.executor.variant
    command = getattr(variant, "command", None) or ""
    return f"!{task.executor.kind} {command}".strip()


def run_task_list(args: argparse.Namespace) -> int:
    from ame_core.resolve import ResolveError

    loaded = _load(args)
    rows = []
    for name in loaded.task_names():
        try:
            spec = loaded.analysis.resolver.resolve_by_name(name).task
        except ResolveError:
            spec = loaded.analysis.index.tasks[name]
        rows.append(
            {
                "name": name,
                "executor": _executor_text(spec),
                "resources": {k: str(v) for k, v in (spec.resources or {}).items()},
                "schedule": spec.triggers.schedule if spec.triggers else None,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no tasks in this project")
        return 0
    table = [
        [
            r["name"],
            r["executor"],
            ", ".join(f"{k}={v}" for k, v in r["resources"].items()) or "-",
            r["schedule"] or "-",
        ]
        for r in rows
    ]
    sys.stdout.write(_table(table, ["TASK", "EXECUTOR", "RESOURCES", "SCHEDULE"]))
    return 0


def _prepared_task(args: argparse.Namespace) -> tuple[Path, str, Any]:
    """(project folder, project name, task to submit): from the task cache when the project
    file is unchanged, else read, checked and resolved (and remembered)."""
    from ame_core.runtime.loading import LoadError
    from ame_core.runtime.prepared import cached, remember

    hit = cached(args.project, args.name)
    if hit is not None:
        project_dir, prepared = hit
        return project_dir, prepared.project, prepared
    loaded = _load(args)
    try:
        resolved = loaded.resolve(args.name)
    except LoadError as exc:
        raise UsageError(str(exc)) from None
    remember(loaded.file, loaded.file.read_bytes(), args.name, resolved)
    return loaded.dir, loaded.name, resolved


def _policy_tags(args: argparse.Namespace) -> dict[str, str]:
    """Refuse a task a team policy forbids (UsageError); the run's tags for --ignore-policy."""
    from ame_core.policy.gate import IGNORED_TAG, has_policies, refusal, task_paths
    from ame_core.runtime.loading import LoadError
    from ame_core.runtime.prepared import project_file_or_none

    if args.ignore_policy:
        return {IGNORED_TAG: "true"}
    path = project_file_or_none(Path(args.project) if args.project else None)
    if path is None or not has_policies(path):
        return {}
    loaded = _load(args)
    try:
        resolved = loaded.resolve(args.name)
    except LoadError as exc:
        raise UsageError(str(exc)) from None
    refused = refusal(loaded.analysis, task_paths(resolved), f"running task '{args.name}'")
    if refused:
        raise UsageError(refused)
    return {}


def run_task_run(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError, RunContext
    from ame_core.runtime.loading import LoadError
    from ame_core.runtime.select import backend_name

    try:
        chosen = backend_name(args.backend)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    if args.dry_run:
        if chosen != "kubernetes":
            raise UsageError(
                "--dry-run prints Kubernetes objects: use it with --backend kubernetes"
            )
        loaded = _load(args)
        try:
            resolved = loaded.resolve(args.name)
        except LoadError as exc:
            raise UsageError(str(exc)) from None
        try:
            from ame_core.runtime.kubernetes.dry_run import render_task
        except ModuleNotFoundError as exc:
            raise UsageError(f"the kubernetes backend is not available here: {exc}") from None
        try:
            context = RunContext(loaded.dir, loaded.name, _tracking_uri(args, loaded.dir))
            sys.stdout.write(
                render_task(
                    resolved,
                    context,
                    args.allow_dirty,
                    kube_context=args.context,
                    namespace=args.namespace,
                )
            )
        except BackendError as exc:
            raise UsageError(str(exc)) from None
        return 0
    tags = _policy_tags(args)
    if chosen == "local":
        project_dir, project_name, task = _prepared_task(args)
    else:
        loaded = _load(args)
        try:
            task = loaded.resolve(args.name)
        except LoadError as exc:
            raise UsageError(str(exc)) from None
        project_dir, project_name = loaded.dir, loaded.name
    backend = _backend(args, project_dir)
    context = RunContext(project_dir, project_name, _tracking_uri(args, project_dir))
    context.allow_dirty = args.allow_dirty  # type: ignore[attr-defined]  # read by kubernetes
    context.tags.update(tags)
    try:
        record = backend.submit(task, context)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    if args.detach:
        if args.json:
            print(json.dumps(record.to_json(), indent=2))
        else:
            print(record.id)
            note = f" ({record.reason})" if record.reason else ""
            print(
                f"run {record.id}: task {record.task} {record.status.value}{note}; "
                f"follow with `ame logs {record.id} -f`",
                file=sys.stderr,
            )
        return 0
    print(
        f"run {record.id}: task {record.task} {record.status.value}"
        + (f" ({record.reason})" if record.reason else ""),
        file=sys.stderr,
    )
    return _follow(backend, record.id, final_summary=True, as_json=args.json)


def _follow(
    backend: Any,
    run_id: str,
    *,
    offset: int = 0,
    final_summary: bool = False,
    as_json: bool = False,
) -> int:
    from ame_core.runtime.backend import BackendError, RunStatus

    try:
        # Locally a look is a file read: poll often, so a short task's end is seen at once.
        fast = {"poll": 0.05} if backend.name == "local" else {}
        for chunk in backend.follow_logs(run_id, offset, **fast):
            if not as_json:
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
        record = backend.get_run(run_id)
    except KeyboardInterrupt:
        print(
            f"\ndetached from run {run_id}; it goes on (`ame logs {run_id} -f` to follow, "
            f"`ame cancel {run_id}` to stop it)",
            file=sys.stderr,
        )
        return 130
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    if as_json:
        print(json.dumps(record.to_json(), indent=2))
    elif final_summary:
        took = _duration(record.duration)
        if record.status == RunStatus.SUCCEEDED:
            print(f"run {record.id} succeeded in {took}", file=sys.stderr)
        else:
            print(f"run {record.id} {record.status.value}: {record.reason}", file=sys.stderr)
    if record.exit_code is not None:
        return record.exit_code
    return 0 if record.status == RunStatus.SUCCEEDED else 2


# --- ame runs / logs / cancel --------------------------------------------------------------


def run_runs(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError

    project_dir = _project_dir(args)
    backend = _backend(args, project_dir)
    try:
        records = backend.list_runs()
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    total = len(records)
    if not args.all:
        records = records[:20]
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=2))
        return 0
    if not records:
        print("no runs yet (start one with `ame task run NAME`)")
        return 0
    rows = []
    for r in records:
        task = r.task if not r.parent_id else f"  └ {r.task}"
        rows.append(
            [
                r.id,
                task,
                r.status.value,
                _age(r.started_at or r.created_at),
                _duration(r.duration),
                "-" if r.exit_code is None else str(r.exit_code),
                r.reason or "",
            ]
        )
    sys.stdout.write(_table(rows, ["RUN", "TASK", "STATUS", "STARTED", "TOOK", "EXIT", "NOTE"]))
    if total > len(records):
        print(f"({len(records)} of {total} runs; --all for every run)", file=sys.stderr)
    return 0


def run_logs(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError

    backend = _backend(args, _project_dir(args))
    if args.follow:
        try:
            backend.get_run(args.run)
        except BackendError as exc:
            raise UsageError(str(exc)) from None
        code = _follow(backend, args.run, offset=args.offset)
        return 130 if code == 130 else 0
    try:
        chunk = backend.read_logs(args.run, args.offset)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(chunk.text)
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError

    backend = _backend(args, _project_dir(args))
    try:
        before = backend.get_run(args.run)
        record = before if before.status.finished else backend.cancel(before.id)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(record.to_json(), indent=2))
    elif before.status.finished:
        print(f"run {record.id} already {record.status.value}")
    else:
        print(f"run {record.id} {record.status.value}")
    survivors = [] if before.status.finished else record.extra.get("survivors") or []
    if survivors:
        # Not ours to stop (another user's, or stuck in the kernel): say so, with the pids.
        pids = ", ".join(str(p) for p in survivors)
        print(
            f"ame: {len(survivors)} process(es) of run {record.id} survived the cancel: pids {pids}",
            file=sys.stderr,
        )
        return 1
    return 0


# --- ame scheduler ---------------------------------------------------------------------------


def run_scheduler(args: argparse.Namespace) -> int:
    from ame_core.runtime import scheduler_service as service

    loaded = _load(args)
    if args.action == "run":
        return _scheduler_foreground(args, loaded)
    try:
        if args.action == "start":
            _scheduler_plan(args, loaded)  # nothing to schedule: refused here, not in a log
            state = service.start(loaded.dir, _global_args(args, loaded.dir))
            print(f"scheduler started (pid {state.pid}); log: {state.log}")
            return 0
        if args.action == "stop":
            state = service.stop(loaded.dir)
            if state.running:
                print(f"scheduler stopped (pid {state.pid}); flows it started go on")
            else:
                print("the scheduler was not running")
            return 0
    except service.SchedulerError as exc:
        raise UsageError(str(exc)) from None
    state = service.status(loaded.dir)
    if args.json:
        print(json.dumps(state.__dict__, indent=2))
        return 0
    if state.running:
        print(
            f"scheduler: running (pid {state.pid}, since {_age(state.started_at)}); log: {state.log}"
        )
    else:
        print("scheduler: not running (start it: ame schedule start)")
    for line in _scheduler_plan(args, loaded, required=False).describe():
        print(f"  {line}")
    return 0


def _global_args(args: argparse.Namespace, project_dir: Path) -> list[str]:
    """The options that make a detached `ame` work on the same project, MLflow and cluster."""
    out = ["--project", str(project_dir)]
    for flag, value in (
        ("--backend", args.backend),
        ("--mlflow-uri", args.mlflow_uri),
        ("--context", args.context),
        ("--namespace", args.namespace),
    ):
        if value:
            out += [flag, value]
    return out


def _scheduler_plan(args: argparse.Namespace, loaded: Any, required: bool = True) -> Any:
    from ame_core.runtime.scheduler import Scheduler

    backend = _backend(args, loaded.dir)
    origin = {
        "project_dir": str(loaded.dir),
        "tracking_uri": args.mlflow_uri,
        "context": args.context,
        "namespace": args.namespace,
    }
    scheduler = Scheduler(loaded, backend, origin, log=lambda line: print(line, flush=True))
    if required and not scheduler.describe():
        raise UsageError(NOTHING_TO_SCHEDULE)
    return scheduler


def _scheduler_foreground(args: argparse.Namespace, loaded: Any) -> int:
    from ame_core.runtime import scheduler_service as service

    scheduler = _scheduler_plan(args, loaded)
    with service.hold_lock(loaded.dir) as mine:
        if not mine:
            state = service.status(loaded.dir)
            raise UsageError(
                f"the scheduler already runs (pid {state.pid}); see `ame schedule status`"
            )
        scheduler.log(
            f"scheduler for project {loaded.name} ({scheduler.backend.name} backend); "
            "Ctrl-C stops it"
        )
        for line in scheduler.describe():
            scheduler.log(f"  {line}")
        try:
            scheduler.run()
        except KeyboardInterrupt:
            scheduler.log("scheduler stopped; flows it started go on")
    return 0
