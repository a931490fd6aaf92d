"""`ame show`: the JSON view of a project file; `--resolved` shows what will run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "show",
        help="print the project as JSON or YAML (canonical spelling)",
        description="Print the JSON view of a project file. --resolved applies templates and "
        "inlines references, so you see exactly what will run.",
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="project file or directory")
    parser.add_argument("--resolved", action="store_true", help="apply templates and references")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.add_argument("--workspace", metavar="DIR", help="workspace root for project.name refs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ame_cli.lint import collect_files, display_path, read_project_text
    from ame_core.engine import analyze
    from ame_core.report import format_text
    from ame_core.views import project_view, resolved_view
    from ame_core.workspace import workspace_for

    files = collect_files([args.path] if args.path else [], args.project)
    if len(files) != 1:
        raise UsageError("show takes one project file")
    path = files[0]
    text = read_project_text(path)
    workspace = workspace_for(path, Path(args.workspace) if args.workspace else None)
    analysis = analyze(text, str(path), workspace)
    if analysis.errors:
        sys.stderr.write(format_text([(display_path(path), analysis.errors)]))
    if analysis.project is None:
        return 1
    view: Any = resolved_view(analysis) if args.resolved else project_view(analysis.project)
    if args.format == "json":
        sys.stdout.write(json.dumps(view, indent=2) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(view, sort_keys=False, allow_unicode=True))
    return 1 if analysis.errors else 0
