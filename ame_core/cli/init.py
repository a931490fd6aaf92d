"""`ame init`: write a starter ame.yml."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ame_core.cli.main import UsageError

SCHEMA_URL = "https://raw.githubusercontent.com/TeaInSpace/ame/main/schema/ame.schema.json"

STARTER = """\
# yaml-language-server: $schema={schema}
project: {project}

templates:
  - name: small_cpu
    resources:
      cpu: 1
      memory: 2Gi

tasks:
  - name: train
    fromTemplate: small_cpu
    executor: !pip
      pythonVersion: "{python}"
      command: python train.py

models:
  - name: {project}_model
    training:
      task:
        taskRef: train
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("init", help="write a starter ame.yml")
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR")
    parser.add_argument("--project", dest="project_name", metavar="NAME", help="project name")
    parser.add_argument(
        "--schema",
        metavar="URL",
        help="schema URL or path for the modeline (default: the published schema)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ame_core.project_files import PROJECT_FILE_NAMES

    directory = Path(args.directory)
    for name in PROJECT_FILE_NAMES:
        if (directory / name).exists():
            raise UsageError(f"{directory / name} already exists; not overwriting it")
    project = args.project_name or re.sub(r"[^A-Za-z0-9_-]", "_", directory.resolve().name)
    project = project.lstrip("_-") or "project"
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", project):
        raise UsageError(
            f"'{project}' is not a valid project name: letters, digits, '_' and '-', "
            "starting with a letter or digit, at most 63 characters"
        )
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "ame.yml"
    text = STARTER.format(schema=args.schema or SCHEMA_URL, project=project, python=python)
    try:
        with target.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise UsageError(f"{target} already exists; not overwriting it") from None
    print(f"wrote {target}")
    return 0
