"""The parser class of `ame` and all its sub-commands: argparse's, keeping its own record of
the options and sub-command groups registered on it. argparse keeps that record only in private
attributes (`_actions`, `_option_string_actions`), so the shared options, the `--json`/`--format`
pair and the tests read this one instead."""

from __future__ import annotations

import argparse
from typing import Any, Protocol


class SubcommandGroup(Protocol):
    """What `add_subparsers()` returns, as the command modules use it."""

    def add_parser(self, name: str, **kwargs: Any) -> Parser: ...


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose `options` maps each option string (`--json`) to its action and
    whose `subcommand_parsers()` lists the parsers below it. Sub-parsers made by its
    `add_subparsers().add_parser(...)` are of this class too (argparse's default `parser_class`
    is the parent's class). Options added through argument groups are not recorded; `ame` has
    none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before argparse's __init__, which adds -h/--help through add_argument.
        self.options: dict[str, argparse.Action] = {}
        self.positionals: list[argparse.Action] = []
        self._subcommand_groups: list[argparse.Action] = []
        # Sub-command names given with a help text: the ones `--help` lists (aliases are not).
        self.listed_subcommands: list[str] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.option_strings:
            self.options.update(dict.fromkeys(action.option_strings, action))
        else:
            self.positionals.append(action)
        return action

    def add_subparsers(self, **kwargs: Any) -> Any:
        group = super().add_subparsers(**kwargs)
        self._subcommand_groups.append(group)
        add_parser = group.add_parser

        def add_listed(name: str, **options: Any) -> Parser:
            if "help" in options:
                self.listed_subcommands.append(name)
            return add_parser(name, **options)

        group.add_parser = add_listed  # type: ignore[method-assign]
        return group

    def subcommands(self) -> dict[str, Parser]:
        """Each sub-command name (aliases too) → its parser, for this level only."""
        found: dict[str, Parser] = {}
        for group in self._subcommand_groups:
            found.update(group.choices or {})  # type: ignore[arg-type]
        return found

    def subcommand_parsers(self) -> list[Parser]:
        """Every parser below this one, depth first, each once (an alias names the same
        parser): a sub-commands group's `choices` maps each name to its parser."""
        found: list[Parser] = []
        for group in self._subcommand_groups:
            for sub in dict.fromkeys((group.choices or {}).values()):
                found.append(sub)
                found.extend(sub.subcommand_parsers())
        return found
