"""`ame init`: a new project that runs as it is, made from one of the examples.

The default template is the quickstart: a model with training, validation and deployment, its
`train.py` and `validate.py`, a pinned `requirements.txt` and a `.gitignore` for `.ame/`.
`--template NAME` picks another example (`--list-templates` names them).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ame_cli.init_templates import DEFAULT_TEMPLATE, template_files, template_names
from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
# What a run writes into the project folder; never to be committed.
GITIGNORE_LINES = (".ame/", "mlruns/", "mlflow.db")


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create a project that runs as it is (from an example)",
        description="Create a project in DIR (default: here) from an example: ame.yml, its "
        "scripts, requirements.txt and a .gitignore. Never overwrites a file.",
    )
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR")
    parser.add_argument("--project", dest="project_name", metavar="NAME", help="project name")
    parser.add_argument(
        "--template",
        metavar="NAME",
        default=DEFAULT_TEMPLATE,
        help=f"the example to start from (default: {DEFAULT_TEMPLATE}; see --list-templates)",
    )
    parser.add_argument(
        "--list-templates", action="store_true", help="print the templates and exit"
    )
    parser.add_argument("--json", action="store_true", help="with --list-templates: as JSON")
    parser.add_argument(
        "--schema",
        metavar="URL",
        help="schema URL or path for the modeline (default: the published schema)",
    )
    parser.set_defaults(func=run)


def _project_name(args: argparse.Namespace, directory: Path) -> str:
    project = args.project_name or re.sub(r"[^A-Za-z0-9_-]", "_", directory.resolve().name)
    project = project.lstrip("_-") or "project"
    if not _NAME_RE.match(project):
        raise UsageError(
            f"'{project}' is not a valid project name: letters, digits, '_' and '-', "
            "starting with a letter or digit, at most 63 characters"
        )
    return project


def _project_text(text: str, project: str, schema: str) -> str:
    """The example's ame.yml for the new project: its name, the schema modeline (the
    example's points into the repository) and the Python that runs ame."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = text.splitlines(keepends=True)
    modeline = f"# yaml-language-server: $schema={schema}\n"
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines[0] = modeline
    else:
        lines.insert(0, modeline)
    out = "".join(lines)
    out = re.sub(r"(?m)^project: .*$", lambda _: f"project: {project}", out, count=1)
    return re.sub(r'(?m)^(\s*pythonVersion: )"[0-9.]+"', rf'\g<1>"{python}"', out)


def _gitignore(existing: bytes | None) -> bytes:
    """The template's .gitignore with the lines a run needs ignored added where missing."""
    text = (existing or b"").decode("utf-8")
    have = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in have]
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + "".join(f"{line}\n" for line in missing)).encode("utf-8")


def run(args: argparse.Namespace) -> int:
    from ame_core.project_files import PROJECT_FILE_NAMES
    from ame_core.schema import SCHEMA_ID

    names = template_names()
    if args.list_templates:
        if args.json:
            print(json.dumps([{"name": n, "default": n == DEFAULT_TEMPLATE} for n in names]))
            return 0
        for name in names:
            print(name + (" (default)" if name == DEFAULT_TEMPLATE else ""))
        return 0
    files = template_files(args.template)
    if files is None:
        known = ", ".join(names) or "none (this installation has no examples)"
        raise UsageError(f"no template '{args.template}'; templates: {known}")
    directory = Path(args.directory)
    for name in PROJECT_FILE_NAMES:
        if (directory / name).exists():
            raise UsageError(f"{directory / name} already exists; not overwriting it")
    project = _project_name(args, directory)
    files["ame.yml"] = _project_text(
        files["ame.yml"].decode("utf-8"), project, args.schema or SCHEMA_ID
    ).encode("utf-8")
    gitignore = directory / ".gitignore"
    files[".gitignore"] = _gitignore(
        gitignore.read_bytes() if gitignore.is_file() else files.get(".gitignore")
    )
    taken = [n for n in files if n != ".gitignore" and (directory / n).exists()]
    if taken:
        raise UsageError(
            f"{directory} already has {', '.join(sorted(taken))}; not overwriting (pick an "
            "empty folder)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    shown = ", ".join(sorted(files))
    print(f"wrote {directory}: {shown} (template {args.template}, project {project})")
    model = _first_model(files["ame.yml"].decode("utf-8"))
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    if model:
        print(f"next: {where}ame lint && ame model train {model}", file=sys.stderr)
    return 0


def _first_model(text: str) -> str | None:
    """The first model's name in the written file (for the hint; no parsing needed)."""
    match = re.search(r"(?ms)^models:\s*\n\s*-\s*name:\s*([A-Za-z0-9_-]+)", text)
    return match.group(1) if match else None
