"""`ame runs compare A B …`: runs side by side (params, metrics), only what differs unless
--all. The data is `ame_core.compare`'s, the same the console's comparison screen shows."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    runs = subparsers.choices.get("runs")
    if runs is None:  # `ame runs` is run_cmds' listing; compare hangs below it
        runs = subparsers.add_parser("runs", help="list runs and compare them")
    sub = runs.add_subparsers(dest="runs_command", metavar="COMMAND")
    parser = sub.add_parser(
        "compare",
        help="two or more runs side by side: params and metrics, only what differs",
        description="Params and metrics of two or more runs side by side, read from MLflow: "
        "each metric's last, min and max (and its value at --step). A run is an AME run id "
        "(as `ame runs` lists it, or an unambiguous part of it) or an MLflow run id.",
    )
    parser.add_argument("run_refs", nargs="+", metavar="RUN", help="two or more runs")
    parser.add_argument(
        "--all",
        dest="show_all",
        action="store_true",
        help="every param and metric, not only those that differ",
    )
    parser.add_argument("--step", type=int, metavar="N", help="each metric's value at step N")
    parser.add_argument("--json", action="store_true", help="print JSON (every row, marked)")
    parser.set_defaults(func=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    from ame_cli.main import UsageError
    from ame_core import compare

    refs: list[str] = list(dict.fromkeys(args.run_refs))
    if len(refs) < 2:
        raise UsageError("ame runs compare needs two or more different runs")
    if args.step is not None and args.step < 0:
        raise UsageError(f"--step {args.step}: a step is 0 or more")
    try:
        comparison = compare.build(_read(args, refs))
    except compare.CompareError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(comparison.to_json(args.step), indent=2))
        return 0
    sys.stdout.write(render(comparison, only_differences=not args.show_all, step=args.step))
    return 0


def _read(args: argparse.Namespace, refs: list[str]) -> list[Any]:
    """Each run's side: AME runs through the backend (their MLflow run), else MLflow run ids."""
    from ame_cli.main import UsageError
    from ame_cli.run_cmds import _backend, _project_dir, _tracking_uri
    from ame_core import compare
    from ame_core.runtime.backend import BackendError

    project_dir = _project_dir(args)
    backend = _backend(args, project_dir)
    targets: list[tuple[str, str]] = []
    for ref in refs:
        try:
            record = backend.get_run(ref)
        except BackendError as exc:
            if not compare.looks_like_mlflow_id(ref):
                raise UsageError(str(exc)) from None
            targets.append((ref, ref))
            continue
        targets.append((record.id, compare.mlflow_run_of(record, backend.get_run)))
    api = compare.client_for(_tracking_uri(args, project_dir))
    return [compare.read_run(api, mlflow_id, label) for label, mlflow_id in targets]


def render(comparison: Any, only_differences: bool, step: int | None) -> str:
    """The comparison as text tables, the runs as columns."""
    from ame_core.compare import fmt

    runs = comparison.runs
    lines = [f"{r.label}: MLflow run {r.name or r.mlflow_run_id} ({r.status})" for r in runs]
    labels = [r.label for r in runs]

    def section(title: str, total: int, shown: int, header: list[str], rows: list[list[str]]):
        lines.append("")
        if not total:
            lines.append(f"{title}: none logged")
        elif not rows:
            lines.append(f"{title}: all {total} the same (--all shows them)")
        else:
            if shown < total:
                lines.append(
                    f"{title}: {shown} differ, {total - shown} the same (--all shows them)"
                )
            lines.extend(_table([header, *rows]))

    params = comparison.shown(comparison.params, only_differences)
    rows = [[p.key, *("—" if v is None else v for v in p.values)] for p in params]
    section("params", len(comparison.params), len(params), ["PARAM", *labels], rows)
    parts: list[tuple[str, Any]] = [
        ("last", lambda s: s.last),
        ("min", lambda s: s.min),
        ("max", lambda s: s.max),
    ]
    if step is not None:
        parts.append((f"at step {step}", lambda s: s.at(step)))
    rows = []
    metrics = comparison.shown(comparison.metrics, only_differences)
    for m in metrics:
        for i, (what, value) in enumerate(parts):
            cells = [fmt(None if s is None else value(s)) for s in m.series]
            rows.append([m.key if i == 0 else "", what, *cells])
    section("metrics", len(comparison.metrics), len(metrics), ["METRIC", "", *labels], rows)
    return "\n".join(lines) + "\n"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
