"""`ame secret set|list|delete`: AME's own secret store (values never on argv or output)."""

from __future__ import annotations

import argparse
import json
import sys

from ame_core.cli.main import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "secret",
        help="manage secrets in AME's secret store",
        description="Secrets used by `!ame` secrets of tasks. Stored in a file only you can read "
        "(mode 0600) in your config directory ($AME_CONFIG_DIR, $XDG_CONFIG_HOME/ame or "
        "~/.config/ame). Values are read from a prompt or stdin, never from the command line.",
    )
    sub = parser.add_subparsers(dest="secret_command", metavar="ACTION", required=True)
    p_set = sub.add_parser("set", help="set a secret (value from a prompt or stdin)")
    p_set.add_argument("key")
    p_set.set_defaults(func=run_set)
    p_list = sub.add_parser("list", help="list the keys (never the values)")
    p_list.add_argument("--json", action="store_true")
    p_list.set_defaults(func=run_list)
    p_del = sub.add_parser("delete", help="delete a secret")
    p_del.add_argument("key")
    p_del.set_defaults(func=run_delete)


def _store():
    from ame_core.runtime.secrets import SecretStore

    return SecretStore()


def run_set(args: argparse.Namespace) -> int:
    from ame_core.runtime.secrets import SecretError

    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"value for {args.key}: ")
    else:
        value = sys.stdin.read()
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    if not value:
        raise UsageError(f"no value given for {args.key}; type it at the prompt or pipe it in")
    try:
        _store().set(args.key, value)
    except SecretError as exc:
        raise UsageError(str(exc)) from None
    print(f"secret {args.key} saved", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ame_core.runtime.secrets import SecretError

    try:
        keys = _store().keys()
    except SecretError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(keys))
    else:
        for key in keys:
            print(key)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from ame_core.runtime.secrets import SecretError

    try:
        deleted = _store().delete(args.key)
    except SecretError as exc:
        raise UsageError(str(exc)) from None
    if not deleted:
        raise UsageError(f"no secret '{args.key}' in AME's secret store")
    print(f"secret {args.key} deleted", file=sys.stderr)
    return 0
