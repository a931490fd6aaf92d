"""A real editor as the client: Emacs in batch mode with Eglot and editors/emacs/ame-lsp.el, as
its README sets it up, shows ame-lsp's diagnostics, completes and jumps to a definition.

Needs `emacs` with Eglot (Debian: `apt-get install emacs-nox elpa-eglot`, which
scripts/test.sh does as root; Emacs 29+ has Eglot built in)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EMACS = shutil.which("emacs")
SCRIPT = Path(__file__).with_name("emacs") / "eglot-check.el"

PROJECT = """\
project: emacs_demo
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
""".format(blank="    ")  # completion is asked on this blank line inside the task


def _has_eglot() -> bool:
    if EMACS is None:
        return False
    probe = subprocess.run(
        [EMACS, "--batch", "-q", "--eval", "(progn (package-initialize) (require 'eglot))"],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _has_eglot(),
        reason="emacs with Eglot is not installed (Debian: apt-get install emacs-nox elpa-eglot)",
    ),
]


def test_emacs_eglot_as_the_readme_sets_it_up(tmp_path: Path):
    project = tmp_path / "demo"
    project.mkdir()
    (project / "ame.yml").write_text(PROJECT)
    (project / "requirements.txt").write_text("")
    (project / "train.py").write_text("")
    out = tmp_path / "emacs-result.json"
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(tmp_path),  # no user init, packages or Eglot state of this machine
        "AME_REPO": str(REPO),
        "AME_EMACS_FILE": str(project / "ame.yml"),
        "AME_EMACS_OUT": str(out),
    }
    proc = subprocess.run(
        [EMACS or "emacs", "--batch", "-q", "-l", str(SCRIPT)],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert out.exists(), f"emacs wrote nothing (rc {proc.returncode}):\n{proc.stderr}"
    result = json.loads(out.read_text())
    assert result.get("error") is None, result
    assert result["mode"] == "ame-yaml-mode"
    (found,) = result["diagnostics"]
    assert (found["line"], found["col"]) == (8, 14)  # `10GB`: line 8, 0-based column 14
    assert "AME301" in found["text"] and "10GB" in found["text"]
    assert {"environment", "triggers"} <= set(result["completion"]), result["completion"]
    assert result["definition_line"] == 3  # `- name: train`
