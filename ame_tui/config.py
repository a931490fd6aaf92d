"""User settings of the TUI: key re-binding from `~/.config/ame/tui.toml`.

```toml
[keys]
train = "T"          # an action name (see `?`) = one key or several, comma-separated
runs = "ctrl+r,3"
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ame_core.user_config import config_dir

# Actions that change something: hidden (and refused) with --read-only.
MUTATING = frozenset(
    {"run_task", "train", "validate", "deploy", "undeploy", "rollback", "promote", "cancel"}
)


def config_path() -> Path:
    return config_dir() / "tui.toml"


@dataclass
class TuiConfig:
    keymap: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    problems: list[str] = field(default_factory=list)


def load_config(path: Path | None = None) -> TuiConfig:
    """Read the config file if there is one; a bad file is reported, never fatal."""
    path = path or config_path()
    config = TuiConfig(path=path)
    if not path.is_file():
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        config.problems.append(f"{path}: {exc}")
        return config
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        config.problems.append(f'{path}: [keys] must be a table of action = "key"')
        return config
    for action, key in keys.items():
        if isinstance(key, list):
            key = ",".join(str(k) for k in key)
        if not isinstance(key, str) or not key.strip():
            config.problems.append(f'{path}: keys.{action} must be a key such as "ctrl+t"')
            continue
        config.keymap[str(action)] = key.strip()
    return config
