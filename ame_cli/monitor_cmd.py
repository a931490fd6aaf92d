"""`ame model monitor NAME`: the served model's traffic, errors, latency and input drift.

Without a `monitoring.task` the report is made in this process (it reads the request log and
the reference, records an MLflow run, prints); with one, it is the `monitor` flow (the report,
then the task, as the scheduler runs it), followed as other flows are.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any


def add_parser(
    sub: Any,
    guard: Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]],
    flow_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser(
        "monitor",
        help="traffic, errors, latency and input drift of the served version",
        description="Report on the served version over a window: requests, error rate, "
        "latency p50/p95/p99 per version, and per-feature drift of the inputs against the "
        "reference (monitoring.reference, else what training logged, else the input "
        "example). Recorded as an MLflow run (ame.kind=monitoring). A model with "
        "monitoring.task runs it after the report, with AME_MONITORING_REPORT set.",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "--window", metavar="DURATION", help="e.g. 15m, 1h (default: monitoring.window or 1h)"
    )
    p.add_argument("--no-record", action="store_true", help="print only: no MLflow run")
    p.add_argument("--check", action="store_true", help="exit 1 when the inputs drifted")
    flow_options(p)
    p.set_defaults(func=guard(cmd_monitor))


def cmd_monitor(args: argparse.Namespace) -> int:
    from ame_cli.model_cmds import _flow, _open
    from ame_core.monitoring.service import monitor, window_seconds

    lifecycle = _open(args)
    model = lifecycle.project.model(args.name)
    window_seconds(args.window, model)  # a bad --window is refused before anything starts
    if model.monitoring is not None and model.monitoring.task is not None:
        params = {"window": args.window} if args.window else {}
        found: dict[str, Any] = {}
        code = _flow(args, "monitor", params, lambda record: _flow_summary(record, found))
        if code == 0 and args.check and found.get("verdict") == "drift":
            return 1
        return code
    report = monitor(lifecycle, args.name, window=args.window, record=not args.no_record)
    _print(report, args.json)
    return 1 if args.check and report["drift"]["verdict"] == "drift" else 0


def _print(report: dict[str, Any], as_json: bool) -> None:
    from ame_core.monitoring.text import render

    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        print("\n".join(render(report)))


def _flow_summary(record: Any, found: dict[str, Any]) -> list[str]:
    from ame_core.monitoring.text import render

    lines: list[str] = []
    report_step = record.step("report")
    path = report_step.result.get("report")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                report = json.load(fh)
            found["verdict"] = report["drift"]["verdict"]
            lines += render(report)
        except (OSError, ValueError, KeyError):
            lines.append(f"report: {path}")
    step = record.step("monitor")
    version = record.params.get("version")
    if step.run_id:
        outcome = "succeeded" if step.status.value == "done" else record.status.value
        lines.append(f"monitoring run {step.run_id} of {record.model} v{version}: {outcome}")
    return lines
