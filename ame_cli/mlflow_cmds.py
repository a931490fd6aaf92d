"""`ame mlflow status|stop|ui`: the project's local MLflow server (ame_core.tracking_server).

The server is started by the first command that needs MLflow and lives until `ame mlflow stop`
(or a reboot); with `--mlflow-uri` or `MLFLOW_TRACKING_URI` ame uses that instead and starts
no server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ame_cli.main import UsageError, project_dir_or_exit
from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "mlflow",
        help="the project's local MLflow server: status, stop, UI address",
        description="With no --mlflow-uri and no MLFLOW_TRACKING_URI, ame runs one MLflow "
        "tracking server per project (127.0.0.1, store and artifacts under .ame/), started on "
        "first need and kept until `ame mlflow stop`.",
    )
    sub = parser.add_subparsers(dest="mlflow_command", metavar="ACTION", required=True)
    p_status = sub.add_parser("status", help="address, pid, uptime and store, or not running")
    p_status.add_argument("--json", action="store_true", help="print the status as JSON")
    p_status.set_defaults(func=run_status)
    p_stop = sub.add_parser("stop", help="stop the project's server (the next use starts it)")
    p_stop.set_defaults(func=run_stop)
    p_ui = sub.add_parser("ui", help="print the MLflow UI address (starts the server if needed)")
    p_ui.set_defaults(func=run_ui)


def _project_dir(args: argparse.Namespace) -> Path:
    return project_dir_or_exit(args.project)


def _explicit(args: argparse.Namespace) -> str | None:
    """The tracking URI the user chose, shown without credentials; None for the default."""
    uri = getattr(args, "mlflow_uri", None) or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return None
    from ame_core.mlflow_rest import clean_uri

    return clean_uri(uri) if "://" in uri and not uri.startswith("sqlite:") else uri


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


def run_status(args: argparse.Namespace) -> int:
    from ame_core import tracking_server

    project_dir = _project_dir(args)
    explicit = _explicit(args)
    info = tracking_server.status(project_dir)
    info["tracking_uri"] = explicit or info["url"]
    info["local_server_used"] = explicit is None
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if explicit:
        print(f"ame uses {explicit} (--mlflow-uri / MLFLOW_TRACKING_URI): no local server")
        if not info["running"]:
            return 0
        print("the project's local server is running too:")
    if not info["running"]:
        where = f" (address {info['url']})" if info["url"] else ""
        print(f"the project's MLflow server is not running{where}; the next command that")
        print("needs MLflow starts it")
        print(f"store:     {info['store']}")
        return 0
    answers = "" if info.get("answers") else "  (not answering!)"
    print(f"address:   {info['url']}{answers}")
    print(f"pid:       {info['pid']}")
    print(f"uptime:    {_uptime(info['uptime_s'])}")
    print(f"store:     {info['store']}")
    print(f"artifacts: {info['artifacts']}")
    print(f"mlflow:    {info['mlflow_version'] or '-'}")
    print(f"log:       {info['log']}")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from ame_core import tracking_server

    project_dir = _project_dir(args)
    stopped = tracking_server.stop(project_dir)
    if stopped is None:
        print("the project's MLflow server is not running")
    else:
        print(f"stopped the project's MLflow server ({stopped['url']}, pid {stopped['pid']})")
    return 0


def run_ui(args: argparse.Namespace) -> int:
    from ame_core import tracking_server

    explicit = _explicit(args)
    if explicit:
        if explicit.startswith(("http://", "https://")):
            print(explicit)
            return 0
        raise UsageError(
            f"{explicit} is a store, not a server: its UI is `mlflow ui --backend-store-uri "
            f"{explicit}` (or unset MLFLOW_TRACKING_URI to use the project's server)"
        )
    try:
        url = tracking_server.ensure(_project_dir(args))
    except tracking_server.ServerError as exc:
        raise UsageError(str(exc)) from None
    print(url)
    print("open it in a browser (the server runs until `ame mlflow stop`)", file=sys.stderr)
    return 0
