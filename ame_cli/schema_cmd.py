"""`ame schema`: print (or write) the JSON Schema of the JSON view."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser("schema", help="print the JSON Schema of ame.yml")
    parser.add_argument("--output", "-o", metavar="PATH", help="write to a file instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ame_core.schema import schema_json

    text = schema_json()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
