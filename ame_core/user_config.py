"""The user's configuration folder, the same for every part of ame: the secret store, the
console's tui.toml. `AME_CONFIG_DIR` wins (tests, shared machines), else the XDG place."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    if os.environ.get("AME_CONFIG_DIR"):
        return Path(os.environ["AME_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ame"
