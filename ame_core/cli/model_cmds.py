"""`ame model …`: list, train, validate, deploy, undeploy, status, predict, monitor.

A thin front over ame_core.lifecycle. Progress goes to stderr, task logs and results to stdout;
`--json` prints one JSON document for scripts. Failures are one line (`ame: …`), never a
traceback (set AME_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from ame_core.cli.main import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help="train, validate, deploy and monitor the project's models",
        description="The model lifecycle: train → validate → deploy, batch inference, monitoring.",
    )
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    p = sub.add_parser("list", help="the project's models: versions, validation, what is served")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_guard(cmd_list))

    p = sub.add_parser("train", help="run the training task; report the version it registered")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--no-deploy", action="store_true", help="skip autoDeploy for this training")
    p.add_argument("--quiet", action="store_true", help="do not print the task's log")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_guard(cmd_train))

    p = sub.add_parser("validate", help="run the validation task on a version, record the verdict")
    p.add_argument("name", metavar="NAME")
    _version_options(p)
    p.add_argument("--quiet", action="store_true", help="do not print the task's log")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_guard(cmd_validate))

    p = sub.add_parser("deploy", help="serve a version (default: the latest)")
    p.add_argument("name", metavar="NAME")
    _version_options(p)
    p.add_argument("--force", action="store_true", help="deploy even if not validated or failed")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be deployed (cluster manifests)"
    )
    p.add_argument("--json", action="store_true", help="print the endpoint as JSON")
    p.set_defaults(func=_guard(cmd_deploy))

    p = sub.add_parser("undeploy", help="stop serving the model")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_guard(cmd_undeploy))

    p = sub.add_parser("status", help="versions, verdicts, the served version and its health")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--no-health", action="store_true", help="skip the /ping and smoke requests")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_guard(cmd_status))

    p = sub.add_parser("predict", help="batch inference on a file (or the batchInference section)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--input", metavar="FILE", help="CSV, JSON lines or Parquet")
    p.add_argument("--output", metavar="FILE", help="where the predictions go (same formats)")
    _version_options(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_guard(cmd_predict))

    p = sub.add_parser("monitor", help="run the monitoring task against the deployed version")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--quiet", action="store_true", help="do not print the task's log")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.set_defaults(func=_guard(cmd_monitor))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _version_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--version", metavar="N", help="model version (default: see --help)")
    group.add_argument("--alias", metavar="A", help="registry alias, e.g. deployed")


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Known failures become one line on stderr and exit 1; Ctrl-C leaves runs running."""

    def run(args: argparse.Namespace) -> int:
        from ame_core.batch import BatchError
        from ame_core.lifecycle import LifecycleError
        from ame_core.registry import RegistryError
        from ame_core.runtime.backend import BackendError

        known: tuple[type[BaseException], ...] = (
            LifecycleError,
            RegistryError,
            BackendError,
            BatchError,
        )
        known += _optional_errors()
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        try:
            return fn(args)
        except UsageError:
            raise
        except KeyboardInterrupt:
            _err("interrupted; runs already started go on (see `ame runs`)")
            return 130
        except known as exc:
            _err(_one_line(exc))
            return 1
        except Exception as exc:
            if os.environ.get("AME_DEBUG"):
                raise
            _err(
                f"unexpected error: {type(exc).__name__}: {_one_line(exc)} (AME_DEBUG=1 shows more)"
            )
            return 1

    return run


def _optional_errors() -> tuple[type[BaseException], ...]:
    """Error types of other modules that carry a message meant for the user."""
    found: list[type[BaseException]] = []
    for module, name in (
        ("ame_core.tracking", "TrackingError"),
        ("ame_core.runtime.executors", "ExecutorError"),
    ):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


def _err(message: str) -> None:
    print(f"ame: {message}", file=sys.stderr, flush=True)


def _open(args: argparse.Namespace, quiet_logs: bool = True) -> Any:
    from ame_core.lifecycle import Lifecycle

    def say(line: str) -> None:
        if not getattr(args, "json", False):
            print(f"ame: {line}", file=sys.stderr, flush=True)

    def logs(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return Lifecycle.open(
        args.project,
        backend=args.backend,
        tracking_uri=args.mlflow_uri,
        context=args.context,
        namespace=args.namespace,
        say=say,
        logs=None if quiet_logs or getattr(args, "json", False) else logs,
    )


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _when(seconds: float | None) -> str:
    if not seconds:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


# --- commands -----------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    rows = _open(args).models()
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("(no models in this project)")
        return 0
    table = [["MODEL", "VERSIONS", "LATEST", "VALIDATION", "DEPLOYED", "ENDPOINT"]]
    for row in rows:
        endpoint = row["endpoint"]
        table.append(
            [
                row["model"],
                str(row["versions"]),
                f"v{row['latest']}" if row["latest"] else "-",
                row["latest_validation"] or ("-" if row["has_validation"] else "(none)"),
                f"v{row['deployed']}" if row["deployed"] else "-",
                f"{endpoint['status']} {endpoint['url'] or ''}".strip() if endpoint else "-",
            ]
        )
    print(_table(table))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    lifecycle = _open(args, quiet_logs=args.quiet)
    result = lifecycle.train(args.name, auto_deploy=False if args.no_deploy else None)
    if args.json:
        _print_json(result.to_json())
    run = result.run
    if run.status.value != "succeeded":
        if not args.json:
            why = f": {run.reason}" if run.reason else ""
            _err(f"training run {run.id} {run.status.value}{why} (log: ame logs {run.id})")
        return 1
    if result.version is None:
        if not args.json:
            _err(
                f"training run {run.id} succeeded but registered no version of {args.name} "
                f"(log the model with registered_model_name={args.name!r})"
            )
        return 1
    if not args.json:
        print(f"{args.name} v{result.version} registered by run {run.id}")
        if result.validation is not None:
            verdict = result.validation.verdict
            print(f"validation: {verdict.status if verdict else 'no verdict'}")
        if result.endpoint is not None:
            print(f"deployed: v{result.endpoint.version} at {result.endpoint.url}")
        if result.auto_deploy_note:
            print(result.auto_deploy_note)
    return 1 if result.auto_deploy_note else 0


def cmd_validate(args: argparse.Namespace) -> int:
    lifecycle = _open(args, quiet_logs=args.quiet)
    result = lifecycle.validate(args.name, args.version, args.alias)
    if args.json:
        _print_json(result.to_json())
    elif result.verdict is None:
        print(f"{args.name} v{result.version}: validation run {result.run.id} was cancelled")
    else:
        print(f"{args.name} v{result.version} {result.verdict.status} validation ({result.run.id})")
    return 0 if result.passed else 1


def cmd_deploy(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _deploy_dry_run(args)
    endpoint = _open(args).deploy(args.name, args.version, args.alias, force=args.force)
    if args.json:
        _print_json(endpoint.to_json())
    else:
        print(f"{args.name} v{endpoint.version} {endpoint.status.value} at {endpoint.url}")
    return 0


def _deploy_dry_run(args: argparse.Namespace) -> int:
    from ame_core.lifecycle import deployment_of, load_project
    from ame_core.registry import Registry, RegistryError
    from ame_core.tracking import tracking_uri_for

    project = load_project(args.project)
    model = project.model(args.name)
    deployment = deployment_of(model)
    version = args.version
    if version is None:
        try:
            registry = Registry(tracking_uri_for(project.dir, args.mlflow_uri))
            version = registry.resolve(args.name, None, args.alias)
        except RegistryError as exc:
            raise UsageError(f"{exc}; give --version N for a dry run") from None
    backend = args.backend or os.environ.get("AME_BACKEND") or "local"
    if backend == "kubernetes":
        from ame_core.runtime.kubernetes.dry_run import render_deploy

        sys.stdout.write(
            render_deploy(
                project.dir,
                args.name,
                str(version),
                deployment,
                args.context,
                namespace=args.namespace,
                tracking_uri=tracking_uri_for(project.dir, args.mlflow_uri),
            )
        )
        return 0
    print(
        f"would serve models:/{args.name}/{version} with `mlflow models serve --env-manager "
        f"local` on 127.0.0.1 (workers: {deployment.replicas}), behind the model's stable URL"
    )
    return 0


def cmd_undeploy(args: argparse.Namespace) -> int:
    if _open(args).undeploy(args.name):
        print(f"{args.name} is no longer served")
    else:
        print(f"{args.name} was not served")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    status = _open(args).status(args.name, health=not args.no_health)
    if args.json:
        _print_json(status.to_json())
        return 0
    endpoint, health = status.endpoint, status.health
    print(f"model {status.model}")
    if endpoint is None:
        served = f" (registry alias says v{status.deployed})" if status.deployed else ""
        print(f"  served: no{served}")
    else:
        line = f"  served: v{endpoint.version} {endpoint.status.value} at {endpoint.url}"
        if endpoint.detail:
            line += f" ({endpoint.detail})"
        print(line)
        if health is not None:
            ping = f"ping {'ok' if health.ping_ok else 'FAILED'}"
            if health.ping_ms is not None:
                ping += f" {health.ping_ms:.1f} ms"
            smoke = ""
            if health.smoke_ok is not None:
                smoke = f", smoke request {'ok' if health.smoke_ok else 'FAILED'}"
                smoke += f" {health.smoke_ms:.1f} ms" if health.smoke_ms is not None else ""
            detail = f" ({health.detail})" if health.detail else ""
            print(f"  health: {ping}{smoke}{detail}")
    if not status.versions:
        print(f"  no registered versions (train one: ame model train {status.model})")
        return 0
    table = [["VERSION", "CREATED", "VALIDATION", "METRICS", "RUN"]]
    for info in status.versions:
        verdict = info.verdict
        metrics = " ".join(f"{k}={v:.4g}" for k, v in info.key_metrics().items())
        marks = " (deployed)" if "deployed" in info.aliases else ""
        table.append(
            [
                f"v{info.version}{marks}",
                _when(info.created_at),
                verdict.status if verdict else ("-" if status.has_validation else "(none)"),
                metrics or "-",
                (info.run_id or "-")[:12],
            ]
        )
    print("  " + _table(table).replace("\n", "\n  "))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from ame_core.batch import check_files, plan, predict_file

    lifecycle = _open(args)
    model = lifecycle.project.model(args.name)
    batch = plan(
        lifecycle.project.dir,
        model,
        lifecycle.project.resolver,
        lifecycle.project.index,
        args.input,
        args.output,
        args.version,
        args.alias,
    )
    check_files(batch.input, batch.output)
    registry = lifecycle.registry
    if batch.version is None and batch.alias is None:
        # Default: the served version, else the latest.
        version = registry.deployed(args.name) or registry.resolve(args.name)
    else:
        version = registry.resolve(args.name, batch.version, batch.alias)
    result = predict_file(lifecycle.tracking_uri, args.name, version, batch.input, batch.output)
    if args.json:
        _print_json(result.to_json())
    else:
        print(
            f"{result.rows} rows scored with {args.name} v{result.version} → {result.output} "
            f"({result.seconds:.1f} s)"
        )
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    run = _open(args, quiet_logs=args.quiet).run_monitoring(args.name)
    if args.json:
        _print_json(run.to_json())
    else:
        print(f"monitoring run {run.id} of {args.name} v{run.model_version}: {run.status.value}")
    return 0 if run.status.value == "succeeded" else 1
