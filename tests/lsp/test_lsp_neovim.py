"""A real editor as the client: headless Neovim opens an ame.yml with an error and the test
reads the diagnostic (and a hover) back from Neovim.

Needs `nvim` (Debian: `apt-get install -y neovim`, 0.7.2) and `ame-lsp` on PATH (the venv's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NVIM = shutil.which("nvim")
SCRIPT = Path(__file__).with_name("nvim") / "diagnostics.lua"

BROKEN = """\
project: nvim_demo
tasks:
  - name: train
    executor: !pip
      pythonVersion: "3.11"
      command: python train.py
    resources:
      memory: 10GB
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        NVIM is None,
        reason="nvim is not installed (Debian/Ubuntu: apt-get install -y neovim); "
        "the headless-Neovim client test needs it",
    ),
]


def test_neovim_shows_ame_lsp_diagnostics(tmp_path: Path):
    project = tmp_path / "demo"
    project.mkdir()
    (project / "ame.yml").write_text(BROKEN)
    out = tmp_path / "nvim-result.json"
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "AME_NVIM_OUT": str(out),
        "AME_NVIM_FILE": str(project / "ame.yml"),
        "AME_REPO": str(REPO),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [NVIM, "--headless", "--clean", "-n", "-c", f"luafile {SCRIPT}"],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert out.exists(), f"nvim wrote nothing (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(out.read_text())
    assert result.get("error") is None, result["error"]
    assert result["filetype"] == "yaml"  # Neovim sends language id `yaml` for ame.yml
    diagnostics = result["diagnostics"]
    assert len(diagnostics) == 1, result
    (found,) = diagnostics
    assert found["code"] == "AME301"
    assert found["source"] == "ame"
    assert (found["lnum"], found["col"]) == (7, 14)  # `10GB`, 0-based
    assert "10GB" in found["message"]
    assert found["severity"] == 1  # vim.diagnostic.severity.ERROR
    assert result["hover"] and "memory" in result["hover"]
