"""`--json` and `--format` the same way on every command: a command that prints JSON with
`--json` also takes `--format text|json`, and one with `--format …json…` also takes `--json`
(`--json` is `--format json`). Applied to every sub-command by main.build_parser, so a new
command gets the pair by declaring either one."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ame_cli.parser import Parser


class _FormatAction(argparse.Action):
    """`--format F`, added next to a command's `--json`: also sets `json` (what it reads)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.json = values == "json"


class _JsonAction(argparse.Action):
    """`--json`, added next to a command's `--format`: `--format json`."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, "json")


def pair_json_and_format(parser: Parser) -> None:
    options = parser.options
    has_json, has_format = "--json" in options, "--format" in options
    if has_json and not has_format:
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            action=_FormatAction,
            help="output format (--json is --format json)",
        )
    elif has_format and not has_json:
        format_action = options["--format"]
        if "json" in (format_action.choices or ()):
            parser.add_argument(
                "--json",
                dest=format_action.dest,
                action=_JsonAction,
                help="print JSON (--format json)",
            )
