"""`ame flow …`: list, show (and follow), cancel the flows of a project; and the way every
command that starts a flow (`ame model train|validate|deploy|undeploy|monitor`) follows it.

A flow runs in its own driver: following it only reads. Ctrl-C detaches (the flow goes on) and
says how to follow again; `--detach` returns at once with the flow's id.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "flow",
        help="list, follow and cancel flows (train → validate → deploy, ...)",
        description="Flows are what `ame model …` and the console start: each one is driven by "
        "its own process (a Job on a cluster), so it finishes whatever happens to the client.",
    )
    sub = parser.add_subparsers(dest="flow_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    p = sub.add_parser("list", help="recent flows, newest first")
    p.add_argument("--all", action="store_true", help="every flow, not only the last 20")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_guard(cmd_list))

    p = sub.add_parser("show", help="one flow: its steps, results and events")
    p.add_argument("flow", metavar="FLOW", help="the flow's id, or its last characters")
    p.add_argument("--follow", "-f", action="store_true", help="follow it until it ends")
    p.add_argument("--quiet", action="store_true", help="with --follow: no task logs")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=_guard(cmd_show))

    p = sub.add_parser("cancel", help="cancel a flow (and the run it is waiting on)")
    p.add_argument("flow", metavar="FLOW")
    p.set_defaults(func=_guard(cmd_cancel))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    from ame_cli.model_cmds import _guard as model_guard

    return model_guard(fn)


def _err(message: str) -> None:
    print(f"ame: {message}", file=sys.stderr, flush=True)


def open_flows(args: argparse.Namespace) -> tuple[Any, Any]:
    """(flow store, backend) of the project of `args`."""
    from ame_cli.main import load_project_or_exit
    from ame_core.runtime.backend import BackendError
    from ame_core.runtime.select import get_backend

    loaded = load_project_or_exit(args)
    try:
        backend = get_backend(
            args.backend, loaded.dir, context=args.context, namespace=args.namespace
        )
        return backend.flow_store(), backend
    except BackendError as exc:
        raise UsageError(str(exc)) from None


# --- starting and following (used by `ame model …`) -------------------------------------------


def origin_of(args: argparse.Namespace, lifecycle: Any) -> dict[str, Any]:
    """Where the driver must work: the same project, MLflow and cluster as this command."""
    return {
        "project_dir": str(lifecycle.project.dir),
        "tracking_uri": args.mlflow_uri,  # None: the driver finds the same default
        "context": args.context,
        "namespace": args.namespace,
    }


def start_and_follow(
    args: argparse.Namespace,
    lifecycle: Any,
    kind: str,
    model: str,
    params: dict[str, Any],
    summary: Callable[[Any], list[str]],
) -> int:
    """Start a flow; with --detach print its id, else follow it and print `summary` at the end.
    Exit code: the flow's outcome."""
    from ame_core.flows import control

    store = lifecycle.backend.flow_store()
    record = control.start(
        store,
        kind,
        lifecycle.project.name,
        lifecycle.backend.name,
        model=model,
        params=params,
        origin=origin_of(args, lifecycle),
    )
    if getattr(args, "detach", False):
        if args.json:
            _print_json(record.to_json())
        else:
            print(record.id)
            _err(
                f"{record.title}: flow {record.id} started (follow: ame flow show {_short(record.id)} -f)"
            )
        return 0
    if not args.json:
        _err(f"{record.title}: flow {record.id} (Ctrl-C detaches; it goes on)")
    return follow(args, store, lifecycle.backend, record.id, summary, since_event=1)


def follow(
    args: argparse.Namespace,
    store: Any,
    backend: Any,
    flow_id: str,
    summary: Callable[[Any], list[str]] | None,
    since_event: int = 0,
    told: Told | None = None,
) -> int:
    from ame_core.flows import control

    quiet = getattr(args, "quiet", False) or args.json
    told = told or Told()
    try:
        for item in control.follow(
            store, flow_id, backend, logs=not quiet, since_event=since_event
        ):
            if item.is_log:
                sys.stdout.write(item.text)
                sys.stdout.flush()
            elif not args.json:
                line = told.event(item.text)
                if line:
                    _err(line)
    except KeyboardInterrupt:
        short = _short(flow_id)
        _err(
            f"detached; flow {flow_id} goes on (follow: ame flow show {short} -f; "
            f"cancel: ame flow cancel {short})"
        )
        return 130
    record = store.read(flow_id)
    if args.json:
        _print_json(record.to_json())
    elif summary is not None:
        for line in summary(record):
            print(line)
    if record.status.value != "succeeded" and record.reason and not args.json:
        if not told.seen(record.reason):
            _err(record.reason)
    return control.outcome_code(record)


class Told:
    """What the user has been told while following a flow, so that a failure is said once:
    the failing step's event ("train: training run … failed: …") is followed by the flow's
    own "flow failed: <the same reason>" and then by the record's reason."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def seen(self, reason: str) -> bool:
        return any(reason in told for told in self.reasons)

    def event(self, text: str) -> str | None:
        """The line to print for an event, or None when it only repeats an earlier one."""
        prefix, _, reason = text.partition(": ")
        if prefix == "flow failed" and reason and self.seen(reason):
            return None
        self.reasons.append(text)
        return text


def _short(flow_id: str) -> str:
    return flow_id.rsplit("-", 1)[-1]


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


# --- commands -----------------------------------------------------------------------------------


def _when(seconds: float | None) -> str:
    if not seconds:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def cmd_list(args: argparse.Namespace) -> int:
    from ame_core.flows import control
    from ame_core.flows.text import step_line

    store, backend = open_flows(args)
    records = control.listing(store, backend)
    if not args.all:
        records = records[:20]
    if args.json:
        _print_json([r.to_json() for r in records])
        return 0
    if not records:
        print("(no flows yet: `ame model train NAME` starts one)")
        return 0
    from ame_cli.model_cmds import _table

    rows = [["FLOW", "WHAT", "STATUS", "STEPS", "STARTED"]]
    for r in records:
        rows.append([r.id, r.title, r.status.value, step_line(r), _when(r.created_at)])
    print(_table(rows))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ame_core.flows import control

    store, backend = open_flows(args)
    record = control.get(store, args.flow, backend)
    if args.follow:
        told = Told()
        if not args.json:
            for event in record.events:
                line = told.event(event["text"])
                if line:
                    _err(line)
        return follow(
            args, store, backend, record.id, None, since_event=len(record.events), told=told
        )
    if args.json:
        _print_json(record.to_json())
        return 0
    print(f"flow {record.id}: {record.title}")
    reason = f" ({record.reason})" if record.reason else ""
    print(f"  status: {record.status.value}{reason}")
    print(f"  started: {_when(record.created_at)}  ended: {_when(record.ended_at)}")
    if record.resumes:
        print(f"  resumed: {record.resumes} time(s) after its driver vanished")
    for step in record.steps:
        run = f"run {step.run_id}: " if step.run_id else ""
        print(f"  {step.name:<9} {step.status.value:<9} {run}{step.note or ''}".rstrip())
    log = store.log_path(record.id)
    if log:
        print(f"  driver log: {log}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from ame_core.flows import control

    store, backend = open_flows(args)
    record = control.cancel(store, args.flow, backend)
    print(f"flow {record.id} ({record.title}): {record.status.value}")
    return 0
