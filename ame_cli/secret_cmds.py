"""`ame secret set|list|delete`: AME's own secret store (values never on argv or output)."""

from __future__ import annotations

import argparse
import json
import sys

from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup


def register(subparsers: SubcommandGroup) -> None:
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


class _ClusterStore:
    """The same three operations on the cluster: one labelled Secret per key, which tasks
    reference with `secretKeyRef` (`--backend kubernetes`)."""

    def __init__(self, context: str | None, namespace: str | None) -> None:
        self.options = {"context": context, "namespace": namespace}

    def set(self, key: str, value: str) -> None:
        from ame_core.runtime.kubernetes.secrets import set_secret

        set_secret(key, value, **self.options)

    def keys(self) -> list[str]:
        from ame_core.runtime.kubernetes.secrets import list_secrets

        return list_secrets(**self.options)

    def delete(self, key: str) -> bool:
        from ame_core.runtime.kubernetes.secrets import delete_secret

        return delete_secret(key, **self.options)


def _store(args: argparse.Namespace):
    from ame_core.runtime.backend import BackendError
    from ame_core.runtime.select import backend_name

    try:
        backend = backend_name(getattr(args, "backend", None))
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    if backend == "kubernetes":
        return _ClusterStore(getattr(args, "context", None), getattr(args, "namespace", None))
    from ame_core.runtime.secrets import SecretStore

    return SecretStore()


def _errors():
    """The errors a store raises that the user can act on (one line each)."""
    from ame_core.runtime.backend import BackendError
    from ame_core.runtime.secrets import SecretError

    return (SecretError, BackendError)


def run_set(args: argparse.Namespace) -> int:
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
        _store(args).set(args.key, value)
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    print(f"secret {args.key} saved", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        keys = _store(args).keys()
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(keys))
    else:
        for key in keys:
            print(key)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    try:
        deleted = _store(args).delete(args.key)
    except _errors() as exc:
        raise UsageError(str(exc)) from None
    if not deleted:
        raise UsageError(f"no secret '{args.key}' to delete")
    print(f"secret {args.key} deleted", file=sys.stderr)
    return 0
