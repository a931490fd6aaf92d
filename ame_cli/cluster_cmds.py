"""`ame cluster check` and `ame schedule apply|list|delete` (the kubernetes backend).

Global options apply: `--context`, `--namespace`, `--project`, `--mlflow-uri`. Nothing heavy
is imported until a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    cluster = subparsers.add_parser("cluster", help="check a Kubernetes cluster for ame")
    cluster_sub = cluster.add_subparsers(dest="cluster_command", metavar="COMMAND")
    check = cluster_sub.add_parser(
        "check",
        help="API, namespace, permissions, GPUs and the MLflow URI tasks will use",
    )
    check.add_argument(
        "--cluster-mlflow-uri",
        metavar="URI",
        help="MLflow URI as seen from pods (default: $AME_CLUSTER_MLFLOW_URI or the local one)",
    )
    check.add_argument("--json", action="store_true", help="print the checks as JSON")
    check.set_defaults(func=run_check)
    cluster.set_defaults(func=lambda args: _help(cluster))

    from ame_cli.run_cmds import add_scheduler_actions

    schedule = subparsers.add_parser(
        "schedule",
        help="scheduled tasks: the local scheduler, or Kubernetes CronJobs",
        description="Tasks with `triggers.schedule` (and models' monitoring schedules). "
        "Locally the scheduler starts them: `run` (foreground), `start`, `stop`, `status`. "
        "On a cluster they are CronJobs: `apply`, `list`, `delete`.",
    )
    schedule_sub = schedule.add_subparsers(dest="schedule_command", metavar="COMMAND")
    add_scheduler_actions(schedule_sub)
    apply = schedule_sub.add_parser("apply", help="create/update the project's CronJobs")
    apply.add_argument(
        "--allow-dirty", action="store_true", help="git source: use the last commit anyway"
    )
    apply.add_argument(
        "--dry-run", action="store_true", help="print the CronJobs instead of applying them"
    )
    apply.set_defaults(func=run_schedule_apply)
    listing = schedule_sub.add_parser("list", help="the project's CronJobs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_schedule_list)
    delete = schedule_sub.add_parser("delete", help="delete the project's CronJobs")
    delete.add_argument("task", nargs="?", help="only this task's schedule")
    delete.set_defaults(func=run_schedule_delete)
    schedule.set_defaults(func=lambda args: _help(schedule))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _usage(message: str) -> Exception:
    from ame_cli.main import UsageError

    return UsageError(message)


def _backend(args: argparse.Namespace, **kwargs: Any) -> Any:
    from ame_core.runtime.kubernetes.backend import KubernetesBackend

    return KubernetesBackend(None, context=args.context, namespace=args.namespace, **kwargs)


def _project_dir(args: argparse.Namespace) -> Path | None:
    from ame_cli.main import UsageError, project_dir_or_exit

    try:
        return project_dir_or_exit(args.project)
    except UsageError:
        return None


def run_check(args: argparse.Namespace) -> int:
    from ame_core.runtime.kubernetes.cluster_check import FAIL, run_checks, table
    from ame_core.tracking import tracking_uri_for

    project_dir = _project_dir(args) or Path.cwd()
    local_uri = tracking_uri_for(project_dir, args.mlflow_uri)
    import os

    cluster_uri = args.cluster_mlflow_uri or os.environ.get("AME_CLUSTER_MLFLOW_URI")
    checks = run_checks(_backend(args), local_uri, cluster_uri)
    if args.json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    else:
        sys.stdout.write(table(checks))
    return 1 if any(c.status == FAIL for c in checks) else 0


def _loaded(args: argparse.Namespace) -> Any:
    from ame_cli.main import load_project_or_exit

    return load_project_or_exit(args)


def run_schedule_apply(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError, RunContext
    from ame_core.runtime.kubernetes import schedules
    from ame_core.tracking import tracking_uri_for

    loaded = _loaded(args)
    context = RunContext(loaded.dir, loaded.name, tracking_uri_for(loaded.dir, args.mlflow_uri))
    try:
        if args.dry_run:
            return _schedule_dry_run(args, loaded, context)
        backend = _backend(args)
        applied, deleted = schedules.apply(
            backend, loaded.analysis, context, allow_dirty=args.allow_dirty
        )
    except BackendError as exc:
        raise _usage(str(exc)) from None
    for name in applied:
        print(f"applied CronJob {name}")
    for name in deleted:
        print(f"deleted CronJob {name} (its task or model has no schedule any more)")
    if not applied and not deleted:
        from ame_cli.run_cmds import NOTHING_TO_SCHEDULE

        print(NOTHING_TO_SCHEDULE)
    return 0


def _schedule_dry_run(args: argparse.Namespace, loaded: Any, context: Any) -> int:
    from ame_cli.run_cmds import NOTHING_TO_SCHEDULE
    from ame_core.runtime.kubernetes import schedules
    from ame_core.runtime.kubernetes.dry_run import _namespace, dump_all
    from ame_core.runtime.kubernetes.settings import KubeSettings

    objects = schedules.render_offline(
        loaded.analysis,
        context,
        KubeSettings.from_env(),
        _namespace(args.namespace, args.context),
        allow_dirty=args.allow_dirty,
    )
    if not objects:
        raise _usage(NOTHING_TO_SCHEDULE)
    sys.stdout.write(dump_all(objects, ["ame dry run: schedules; nothing was applied."]))
    return 0


def run_schedule_list(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError
    from ame_core.runtime.kubernetes import schedules

    loaded = _loaded(args)
    try:
        items = schedules.list_schedules(_backend(args), loaded.name)
    except BackendError as exc:
        raise _usage(str(exc)) from None
    if args.json:
        print(json.dumps([s.to_json() for s in items], indent=2))
        return 0
    if not items:
        print("no schedules in the cluster for this project (ame schedule apply)")
        return 0
    from ame_core.cron import CronError, describe_cron

    for s in items:
        try:
            words = describe_cron(s.schedule)
        except CronError:
            words = ""
        state = " (suspended)" if s.suspended else ""
        print(f"{s.name}  {s.task}  {s.schedule}  {words}{state}  last: {s.last_run or '-'}")
    return 0


def run_schedule_delete(args: argparse.Namespace) -> int:
    from ame_core.runtime.backend import BackendError
    from ame_core.runtime.kubernetes import schedules

    loaded = _loaded(args)
    try:
        deleted = schedules.delete(_backend(args), loaded.name, args.task)
    except BackendError as exc:
        raise _usage(str(exc)) from None
    for name in deleted:
        print(f"deleted CronJob {name}")
    if not deleted:
        print("nothing to delete")
    return 0
