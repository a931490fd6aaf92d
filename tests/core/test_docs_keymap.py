"""Every key binding of the console that `~/.config/ame/tui.toml` can re-bind (its id) is named
in the README's table of action names, and the table names no action that does not exist."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from core_support import REPO


def binding_ids() -> set[str]:
    from textual.binding import Binding

    import ame_tui

    ids: set[str] = set()
    for info in pkgutil.walk_packages(ame_tui.__path__, "ame_tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for binding in getattr(cls, "BINDINGS", None) or []:
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids


def documented_ids() -> set[str]:
    text = (REPO / "README.md").read_text()
    start = text.index("**Re-binding keys.**")
    table = text[start : text.index("\n\n", text.index("| where |", start))]
    return set(re.findall(r"`([a-z_]+)` \(", table))


def test_every_rebindable_action_is_documented() -> None:
    ids, documented = binding_ids(), documented_ids()
    assert ids - documented == set(), "add these to the README's table of action names"
    assert documented - ids == set(), "the README names actions that do not exist"
