"""`ame lint`: check project files; exit 0 clean, 1 errors, 2 usage or I/O problem."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup

FORMATS = ("text", "json", "github", "sarif")


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="check ame.yml files and print diagnostics",
        description="Check project files. Exit 0: no errors; 1: errors (or warnings with "
        "--strict); 2: usage or I/O problem.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--strict", action="store_true", help="warnings also fail")
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="root of the workspace for project.name references (default: the git root)",
    )
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="a team policy (JSON Schema) to check too, on top of .ame-policy/ and AME_POLICY "
        "(repeatable)",
    )
    parser.set_defaults(func=run)


def read_project_text(path: Path) -> str:
    """The file's text, or a UsageError with one line that says why not."""
    from ame_core.project_files import ProjectFileError
    from ame_core.project_files import read_project_text as read

    try:
        return read(path)
    except ProjectFileError as exc:
        raise UsageError(str(exc)) from None


def collect_files(paths: list[str], project_dir: str | None) -> list[Path]:
    from ame_core.project_files import ProjectFileError, find_project_file, iter_project_files

    if not paths:
        try:
            return [find_project_file(Path(project_dir) if project_dir else None)]
        except ProjectFileError as exc:
            raise UsageError(str(exc)) from None
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = list(iter_project_files(path))
            if not found:
                raise UsageError(f"{path}: no ame.yml or ame.yaml below this directory")
            files.extend(found)
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    return files


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") and path.is_absolute() else rel


def _clean_summary(paths: list[str]) -> str:
    """The one line a clean run prints (text format): silence reads as "did it run?"."""
    if len(paths) == 1:
        return f"{paths[0]}: no problems\n"
    return f"{len(paths)} files: no problems\n"


def run(args: argparse.Namespace) -> int:
    from ame_core import __version__
    from ame_core.diagnostics import Diagnostic, Severity
    from ame_core.engine import analyze
    from ame_core.place_checks import place_diagnostics
    from ame_core.project_files import ame_path_dirs, git_root
    from ame_core.report import format_github, format_json, format_sarif, format_text
    from ame_core.workspace import FileWorkspace

    files = collect_files(args.paths, args.project)
    texts = [(path, read_project_text(path)) for path in files]
    roots = [Path(args.workspace)] if args.workspace else []
    if not roots:
        roots = sorted({git_root(p.parent) or p.parent.resolve() for p in files})
    workspace = FileWorkspace([*roots, *ame_path_dirs()], files)
    if args.policy:
        workspace.policies = replace(workspace.policies, extra=tuple(Path(p) for p in args.policy))

    results: list[tuple[str, list[Diagnostic]]] = []
    directories: dict[Path, list[Path]] = {}
    for path, text in texts:
        analysis = analyze(text, str(path), workspace)
        diagnostics = list(analysis.diagnostics)
        directories.setdefault(path.resolve().parent, []).append(path)
        diagnostics[:0] = place_diagnostics(path)
        results.append((display_path(path), diagnostics))

    if args.format == "text":
        output = format_text(results) or _clean_summary([path for path, _ in results])
    elif args.format == "json":
        output = format_json(results)
    elif args.format == "github":
        output = format_github(results)
    else:
        output = format_sarif(results, __version__)
    sys.stdout.write(output)

    all_diagnostics = [d for _, ds in results for d in ds]
    if any(d.severity == Severity.ERROR for d in all_diagnostics):
        return 1
    if args.strict and any(d.severity == Severity.WARNING for d in all_diagnostics):
        return 1
    return 0
