"""`ame model …`: list, train, validate, deploy, undeploy, rollback, history, status, predict,
monitor.

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

from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup
from ame_core.errors import one_line


def register(subparsers: SubcommandGroup) -> None:
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

    p = sub.add_parser(
        "train",
        help="train; then validate the version it registered and, with autoDeploy, serve it",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--no-deploy", action="store_true", help="skip autoDeploy for this training")
    p.add_argument("--no-validate", action="store_true", help="do not validate the new version")
    _ignore_policy_option(p)
    _flow_options(p)
    p.set_defaults(func=_guard(cmd_train))

    p = sub.add_parser("validate", help="run the validation task on a version, record the verdict")
    p.add_argument("name", metavar="NAME")
    _version_options(p)
    _flow_options(p)
    p.set_defaults(func=_guard(cmd_validate))

    p = sub.add_parser("deploy", help="serve a version (default: the latest)")
    p.add_argument("name", metavar="NAME")
    _version_options(p)
    p.add_argument("--force", action="store_true", help="deploy even if not validated or failed")
    _ignore_policy_option(p)
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be deployed (cluster manifests)"
    )
    _flow_options(p)
    p.set_defaults(func=_guard(cmd_deploy))

    p = sub.add_parser("undeploy", help="stop serving the model")
    p.add_argument("name", metavar="NAME")
    _flow_options(p)
    p.set_defaults(func=_guard(cmd_undeploy))

    p = sub.add_parser("promote", help="end the model's canary now: it takes all requests")
    p.add_argument("name", metavar="NAME")
    _flow_options(p)
    p.set_defaults(func=_guard(cmd_promote))

    p = sub.add_parser(
        "rollback",
        help="end the model's canary now, or serve again the version served before "
        "(or --to N, served before)",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--to", metavar="N", help="a version that was served before")
    _flow_options(p)
    p.set_defaults(func=_guard(cmd_rollback))

    p = sub.add_parser("history", help="every deploy, roll-back and undeploy of the model")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_guard(cmd_history))

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

    from ame_cli.monitor_cmd import add_parser as add_monitor

    add_monitor(sub, _guard, _flow_options)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _flow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="do not print the tasks' logs")
    parser.add_argument(
        "--detach", action="store_true", help="start the flow and return at once with its id"
    )
    parser.add_argument("--json", action="store_true", help="print the flow's record as JSON")


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
            _check_versions(args)
            return fn(args)
        except (UsageError, BrokenPipeError):
            raise  # main() tells them
        except KeyboardInterrupt:
            _err("interrupted; runs already started go on (see `ame runs`)")
            return 130
        except known as exc:
            _err(_message(exc))
            return 2 if _project_unusable(exc) else 1
        except Exception as exc:
            if os.environ.get("AME_DEBUG"):
                raise
            _err(
                f"unexpected error: {type(exc).__name__}: {one_line(exc)} (AME_DEBUG=1 shows more)"
            )
            return 1

    return run


def _check_versions(args: argparse.Namespace) -> None:
    """`--version` and `--to` as MLflow wants them ("3" from "3" or "v3"); anything else is a
    usage error in one line, before MLflow is asked."""
    from ame_core.registry import RegistryError, version_number

    for attr, flag in (("version", "--version"), ("to", "--to")):
        value = getattr(args, attr, None)
        if value is None:
            continue
        try:
            setattr(args, attr, version_number(str(value)))
        except RegistryError:
            raise UsageError(
                f"{flag} {value!r}: not a version number (give N or vN, e.g. {flag} 3)"
            ) from None


def _project_unusable(exc: BaseException) -> bool:
    """The project file could not be used (missing, not UTF-8, with errors): a usage or I/O
    problem, exit 2 as for every other command. lifecycle.load_project raises it `from None`
    from a LoadError, which stays its __context__."""
    from ame_core.runtime.loading import LoadError

    return isinstance(exc.__context__, LoadError)


def _optional_errors() -> tuple[type[BaseException], ...]:
    """Error types of other modules that carry a message meant for the user."""
    found: list[type[BaseException]] = []
    for module, name in (
        ("ame_core.tracking", "TrackingError"),
        ("ame_core.runtime.executors", "ExecutorError"),
        ("ame_core.flows.store", "FlowError"),
    ):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _message(exc: BaseException) -> str:
    """A known error's whole message (a project's problems come one per line), else its type's
    name; unexpected errors are told in one line (errors.one_line)."""
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


def _flow(args: argparse.Namespace, kind: str, params: dict[str, Any], summary: Any) -> int:
    from ame_cli.flow_cmds import start_and_follow
    from ame_core.flows.control import check_startable

    lifecycle = _open(args)
    model = lifecycle.project.model(args.name)  # an unknown model is refused here, at once
    check_startable(kind, model, lifecycle.backend)
    if kind in ("train", "deploy"):
        _policy_gate(args, lifecycle.project, model, kind, params)
    return start_and_follow(args, lifecycle, kind, args.name, params, summary)


def _ignore_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ignore-policy",
        action="store_true",
        help="go on although a team policy forbids it (recorded on the flow and its runs)",
    )


def _policy_gate(
    args: argparse.Namespace, project: Any, model: Any, kind: str, params: dict[str, Any]
) -> None:
    """Refuse a model flow a team policy forbids, unless --ignore-policy (then recorded)."""
    from ame_core.lifecycle import LifecycleError
    from ame_core.policy.gate import model_paths, refusal

    if getattr(args, "ignore_policy", False):
        params["policy_ignored"] = True
        return
    what = f"{'training' if kind == 'train' else 'deploying'} model '{model.name}'"
    refused = refusal(project.analysis, model_paths(model, project.resolver), what)
    if refused:
        raise LifecycleError(refused)


def _version_params(args: argparse.Namespace) -> dict[str, Any]:
    return {"version": args.version, "alias": args.alias}


def _train_summary(record: Any) -> list[str]:
    lines = []
    version = record.params.get("version")
    train = record.step("train")
    if version:
        lines.append(f"{record.model} v{version} registered by run {train.run_id}")
    validate = record.step("validate")
    if validate.status.value == "done":
        lines.append(f"validation: {validate.result.get('verdict') or 'no verdict'}")
    deploy = record.step("deploy")
    if deploy.status.value == "done":
        lines.append(f"deployed: v{deploy.result.get('version')} at {deploy.result.get('url')}")
    return lines


def cmd_train(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"deploy": False if args.no_deploy else None}
    if args.no_validate:
        params["validate"] = False
    return _flow(args, "train", params, _train_summary)


def _validate_summary(record: Any) -> list[str]:
    step = record.step("validate")
    version = record.params.get("version")
    if step.status.value == "cancelled":
        return [f"{record.model} v{version}: validation run {step.run_id} was cancelled"]
    verdict = step.result.get("verdict")
    if verdict:
        return [f"{record.model} v{version} {verdict} validation ({step.run_id})"]
    return []


def cmd_validate(args: argparse.Namespace) -> int:
    return _flow(args, "validate", _version_params(args), _validate_summary)


def _deploy_summary(record: Any) -> list[str]:
    step = record.step("deploy")
    if step.status.value != "done":
        return []
    return [f"{record.model} v{step.result.get('version')} ready at {step.result.get('url')}"]


def cmd_deploy(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _deploy_dry_run(args)
    params = {**_version_params(args), "force": bool(args.force)}
    return _flow(args, "deploy", params, _deploy_summary)


def _end_canary(args: argparse.Namespace, lifecycle: Any, decision: str) -> int | None:
    """Ask the model's running canary to end (`decision`) and follow its flow to the end;
    None when no canary is running."""
    from ame_cli.flow_cmds import follow
    from ame_core.flows.control import running_canary

    store = lifecycle.backend.flow_store()
    record = running_canary(store, args.name, lifecycle.backend)
    if record is None:
        return None
    store.request_decision(record.id, decision)
    if not args.json:
        _err(f"{record.title}: the canary is asked to {decision} (flow {record.id})")
    if args.detach:
        return 0
    return follow(args, store, lifecycle.backend, record.id, _deploy_summary)


def cmd_promote(args: argparse.Namespace) -> int:
    lifecycle = _open(args)
    lifecycle.project.model(args.name)
    code = _end_canary(args, lifecycle, "promote")
    if code is None:
        raise UsageError(
            f"{args.name} has no canary running (a deploy with `rollout: {{strategy: canary}}` "
            "starts one)"
        )
    return code


def cmd_rollback(args: argparse.Namespace) -> int:
    """During a canary: end it, back to the version it was split with. Otherwise a deploy
    flow of the version to go back to, chosen here from the history (so a refusal is at
    once, before any flow) and recorded as a roll-back."""
    from ame_cli.flow_cmds import start_and_follow
    from ame_core.flows.control import check_startable

    lifecycle = _open(args)
    model = lifecycle.project.model(args.name)
    if args.to is None:
        code = _end_canary(args, lifecycle, "rollback")
        if code is not None:
            return code
    check_startable("deploy", model, lifecycle.backend)
    target = lifecycle.rollback_target(args.name, args.to)
    params = {"version": target, "alias": None, "force": True, "event": "rollback"}
    return start_and_follow(args, lifecycle, "deploy", args.name, params, _deploy_summary)


def cmd_history(args: argparse.Namespace) -> int:
    events = _open(args).history(args.name)
    if args.json:
        _print_json([e.to_json() for e in events])
        return 0
    if not events:
        print(
            f"{args.name} has no deployment history yet (deploy it: ame model deploy {args.name})"
        )
        return 0
    table = [["WHEN", "EVENT", "FROM", "TO", "STRATEGY", "OUTCOME", "WHO", "REASON"]]
    for e in events:
        table.append(
            [
                _when(e.at),
                e.event,
                f"v{e.from_version}" if e.from_version else "-",
                f"v{e.to_version}" if e.to_version else "-",
                e.strategy,
                e.outcome,
                e.user or "-",
                e.reason or "",
            ]
        )
    print(_table(table))
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


def _undeploy_summary(record: Any) -> list[str]:
    step = record.step("undeploy")
    return [step.note] if step.status.value == "done" and step.note else []


def cmd_undeploy(args: argparse.Namespace) -> int:
    return _flow(args, "undeploy", {}, _undeploy_summary)


def _model_flows(lifecycle: Any, model: str) -> tuple[Any, Any]:
    """(the model's flow still going, its newest flow), after resuming any whose driver died."""
    from ame_core.flows import control

    try:
        flows = [
            r
            for r in control.listing(lifecycle.backend.flow_store(), lifecycle.backend)
            if r.model == model
        ]
    except Exception:  # noqa: BLE001 - flows are extra information here; the status itself must show
        return None, None
    active = next((r for r in flows if not r.status.finished), None)
    return active, (flows[0] if flows else None)


def _flow_line(active: Any, newest: Any) -> str | None:
    from ame_core.flows.text import step_line

    if active is not None:
        return f"  flow: {active.title} {active.status.value} ({step_line(active)}) {active.id}"
    if newest is not None:
        why = f": {newest.reason}" if newest.reason else ""
        return f"  last flow: {newest.title} {newest.status.value}{why} ({newest.id})"
    return None


def cmd_status(args: argparse.Namespace) -> int:
    lifecycle = _open(args)
    status = lifecycle.status(args.name, health=not args.no_health)
    active, newest = _model_flows(lifecycle, args.name)
    if args.json:
        data = status.to_json()
        data["flow"] = active.to_json() if active else None
        data["last_flow"] = newest.to_json() if newest else None
        _print_json(data)
        return 0
    endpoint, health = status.endpoint, status.health
    print(f"model {status.model}")
    flow_line = _flow_line(active, newest)
    if flow_line:
        print(flow_line)
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
    if args.output:
        _check_output(args.output, batch.output)
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


def _check_output(given: str, output: Any) -> None:
    """An --output must go into a folder that exists (as a shell's `>` does): creating a
    tree for a mistyped path would hide the mistake. (The project's batchInference output,
    under the project, gets its folder created.)"""
    if output.is_dir():
        raise UsageError(f"--output {given} is a folder; give a file name in it")
    if not output.parent.is_dir():
        raise UsageError(f"--output {given}: no folder {output.parent} (create it first)")
