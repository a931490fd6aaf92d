"""`ame tui`: the terminal console (Textual), imported only when this command runs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "tui",
        help="open the terminal console: tasks, models, runs, flows, logs, deployments",
        description="A terminal console for the project: launch and watch runs, train, "
        "validate and deploy models (each a flow that finishes without the console), follow "
        "logs, see problems in ame.yml. Closing it never stops a run or a flow.",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="hide every action that changes anything"
    )
    parser.add_argument(
        "--view",
        choices=("tasks", "models", "runs", "deploy", "problems", "flows"),
        default=None,
        help="the view to open first (default: models)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="key bindings (default: ~/.config/ame/tui.toml)"
    )
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve the console to a browser (textual-serve) at a URL with a random token",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="--web: the port (default: a free one)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="--web: the address to listen on (default 127.0.0.1; another exposes the console)",
    )
    # also accepted after the command: `ame tui --project DIR`
    parser.add_argument("--project", dest="tui_project", metavar="DIR", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def backend_label(args: argparse.Namespace) -> str:
    name = args.backend or os.environ.get("AME_BACKEND") or "local"
    if name != "kubernetes":
        return name
    where = "/".join(x for x in (args.context, args.namespace) if x)
    return f"kubernetes {where}" if where else "kubernetes"


def build_context(args: argparse.Namespace):
    from ame_cli.main import UsageError, project_file_or_exit
    from ame_tui.services.context import AppContext, default_tracking_uri

    project_arg = getattr(args, "tui_project", None) or args.project
    start = Path(project_arg).expanduser() if project_arg else Path.cwd()
    if project_arg and not start.exists():
        raise UsageError(f"--project {project_arg}: no such directory")
    project_file = project_file_or_exit(start)
    project_dir = project_file.parent.resolve()
    tracking_uri = args.mlflow_uri or default_tracking_uri(project_dir)

    def make_backend():  # called in a worker: a kubernetes client loads after the first frame
        from ame_core.runtime.select import get_backend

        return get_backend(
            args.backend, project_dir, context=args.context, namespace=args.namespace
        )

    return AppContext(
        project_dir=project_dir,
        project_file=project_file,
        tracking_uri=tracking_uri,
        backend_factory=make_backend,
        backend_label=backend_label(args),
        read_only=bool(args.read_only),
        mlflow_uri=args.mlflow_uri,
        kube_context=args.context,
        namespace=args.namespace,
    )


def run(args: argparse.Namespace) -> int:
    from ame_tui.app import AmeApp
    from ame_tui.config import load_config

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    ctx = build_context(args)
    if args.web:
        return serve_web(args, ctx.project_dir)
    config = load_config(Path(args.config) if args.config else None)
    # A worker still waiting (a slow backend) does not hold the exit: they run on daemon
    # threads (ame_tui.workers.DaemonExecutor). Flows and runs are detached processes and go on.
    AmeApp(ctx, config, start_view=args.view).run()
    return 0


def console_command(args: argparse.Namespace, project_dir: Path) -> list[str]:
    """`ame tui` as this one was asked for, without --web: what each browser session runs."""
    command = [sys.executable, "-m", "ame_cli", "tui", "--project", str(project_dir)]
    for flag, value in (
        ("--view", args.view),
        ("--config", args.config),
        ("--backend", args.backend),
        ("--mlflow-uri", args.mlflow_uri),
        ("--context", args.context),
        ("--namespace", args.namespace),
    ):
        if value:
            command += [flag, str(value)]
    if args.read_only:
        command.append("--read-only")
    return command


def serve_web(args: argparse.Namespace, project_dir: Path) -> int:
    import shlex

    from ame_cli.main import UsageError
    from ame_core.net import free_port
    from ame_tui import web

    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: a port is 1 to 65535")
    try:
        port = args.port or free_port(args.host)
    except OSError as exc:
        raise UsageError(f"--host {args.host}: cannot listen there ({exc.strerror})") from None
    token = web.new_token()
    if not web.is_loopback(args.host):
        print(
            f"ame: warning: --host {args.host} serves the console to the network: whoever has "
            "the URL below can run tasks and deploy models as you, over plain HTTP (put it "
            "behind TLS, or use an SSH tunnel to 127.0.0.1 instead)",
            file=sys.stderr,
        )
    server = web.make_server(shlex.join(console_command(args, project_dir)), args.host, port, token)
    print(f"AME console for {project_dir.name} in a browser: {web.url(args.host, port, token)}")
    print("(the token is the key to the console; Ctrl+C stops serving)", flush=True)
    try:
        server.serve()
    except OSError as exc:
        raise UsageError(f"cannot serve on {args.host}:{port}: {exc.strerror or exc}") from None
    return 0
