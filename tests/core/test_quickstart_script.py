"""scripts/quickstart.sh as a user without uv runs it (no terminal): it installs nothing into
the system Python, says that the quickstart lints clean, and shows what would run."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from core_support import REPO

SHIM = """#!/bin/sh
echo "$0 $*" >> "{log}"
exec "{real}" "$@"
"""


def test_quickstart_script_installs_nothing_into_the_system_python(tmp_path: Path) -> None:
    # PATH without uv (nor the project's .venv/bin), and system Pythons that log their calls.
    dirs = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "uv").exists() and Path(d).resolve() != REPO / ".venv" / "bin"
    ]
    shims, log = tmp_path / "shims", tmp_path / "calls.log"
    shims.mkdir()
    for name in ("python3", "python", "pip", "pip3"):
        real = shutil.which(name)
        if real is None:
            continue
        shim = shims / name
        shim.write_text(SHIM.format(log=log, real=real))
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": os.pathsep.join([str(shims), *dirs])}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "quickstart.sh")],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ame.yml: no problems\n")  # `ame lint` says it ran
    assert "project: quickstart" in result.stdout  # no terminal: `ame show --resolved`
    calls = log.read_text() if log.exists() else ""
    assert "pip install" not in calls, calls
