"""The `ame` command: a thin argparse front over ame_core.

Each command group lives in its own module with a `register(subparsers)` function; the modules
import nothing heavy at module level, so `ame lint` starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ame_cli.parser import Parser

# Modules that add commands, in the order `ame --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "ame_cli.lint",
    "ame_cli.show",
    "ame_cli.schema_cmd",
    "ame_cli.init",
    "ame_cli.completion",
)
# Modules written by other parts of the project; absent ones are skipped.
OPTIONAL_COMMAND_MODULES: tuple[str, ...] = (
    "ame_cli.run_cmds",
    "ame_cli.compare_cmd",  # `ame runs compare`: after run_cmds, which makes `ame runs`
    "ame_cli.model_cmds",
    "ame_cli.flow_cmds",
    "ame_cli.secret_cmds",
    "ame_cli.cluster_cmds",
    "ame_cli.mlflow_cmds",
    "ame_cli.tui_cmd",
)


class UsageError(Exception):
    """A problem with what the user asked (exit 2, one line, no traceback)."""


def load_project_or_exit(args: argparse.Namespace):
    """The project of `--project` (or the current directory), checked; a UsageError saying
    what is wrong (file:line:col) otherwise."""
    from ame_core.runtime.loading import LoadError, load_project

    try:
        return load_project(args.project)
    except LoadError as exc:
        raise UsageError(str(exc)) from None


def project_file_or_exit(project: str | Path | None) -> Path:
    """The nearest project file at or above `project` (else the current directory), without
    checking it (a broken project's runs can still be listed); a UsageError saying why there
    is none."""
    from ame_core.project_files import ProjectFileError, find_project_file

    try:
        return find_project_file(Path(project) if project else None)
    except ProjectFileError as exc:
        raise UsageError(str(exc)) from None


def project_dir_or_exit(project: str | Path | None) -> Path:
    """The folder of `project_file_or_exit`."""
    return project_file_or_exit(project).parent.resolve()


def _add_global_options(parser: Parser, default: object = None) -> None:
    """The options every command takes; skipped where a command already uses the name."""
    options: list[tuple[str, dict[str, object]]] = [
        (
            "--project",
            {
                "metavar": "DIR",
                "help": "project directory (default: the nearest directory with an ame.yml)",
            },
        ),
        (
            "--backend",
            {
                "choices": ("local", "kubernetes"),
                "help": "where tasks run (default: $AME_BACKEND or local)",
            },
        ),
        (
            "--mlflow-uri",
            {
                "metavar": "URI",
                "help": "MLflow tracking URI (default: $MLFLOW_TRACKING_URI or the project's "
                ".ame/ store)",
            },
        ),
        ("--context", {"metavar": "NAME", "help": "kubeconfig context (kubernetes backend)"}),
        (
            "--namespace",
            {"metavar": "NS", "help": "namespace (kubernetes backend; default: the context's)"},
        ),
    ]
    for flag, kwargs in options:
        if flag not in parser.options:
            parser.add_argument(flag, default=default, **kwargs)  # type: ignore[arg-type]


def build_parser() -> Parser:
    parser = Parser(
        prog="ame",
        description="AME console: validate, inspect and run AME projects (ame.yml).",
    )
    _add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for name in OPTIONAL_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    # `ame task run NAME --backend kubernetes` works as well as `ame --backend kubernetes task
    # run NAME`: sub-commands accept the global options too, without overriding them when absent.
    from ame_cli.output_options import pair_json_and_format

    for sub in parser.subcommand_parsers():
        _add_global_options(sub, default=argparse.SUPPRESS)
        pair_json_and_format(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except UsageError as exc:
        print(f"ame: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ame runs | head -1`): what it wanted it has. Point stdout at
        # /dev/null so the interpreter's last flush does not report the broken pipe again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
