"""`ame init`: the files of a project that runs, the templates (the examples), and the examples
inside the built package, so an installed `ame` finds them. (That the project trains as it is:
tests/lifecycle/test_cli_as_found.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from core_support import REPO


def ame(*args: str, cwd: Path | None = None, python: list[str] | None = None):
    result = subprocess.run(
        [*(python or [sys.executable, "-m", "ame_cli"]), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_init_writes_a_project_with_its_scripts_requirements_and_gitignore(tmp_path: Path):
    target = tmp_path / "my-project"
    made = ame("init", str(target))
    assert made.returncode == 0, made.stderr
    names = sorted(p.name for p in target.iterdir())
    assert names == [
        ".gitignore",
        "README.md",
        "ame.yml",
        "requirements.txt",
        "train.py",
        "validate.py",
    ]
    assert ".ame/" in (target / ".gitignore").read_text().splitlines()
    text = (target / "ame.yml").read_text()
    assert "project: my-project\n" in text
    assert text.startswith(
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/ame/ame-console/"
    )
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f'pythonVersion: "{python}"' in text
    for key in ("training:", "validation:", "deployment:"):
        assert key in text
    assert "ame model train logreg" in made.stderr  # what to do next
    linted = ame("lint", cwd=target)
    assert (linted.returncode, linted.stdout) == (0, "ame.yml: no problems\n")


def test_init_never_overwrites_and_keeps_an_existing_gitignore(tmp_path: Path):
    (tmp_path / ".gitignore").write_text("*.log")
    (tmp_path / "train.py").write_text("print('mine')\n")
    refused = ame("init", str(tmp_path))
    assert refused.returncode == 2 and "train.py" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore", "train.py"]
    (tmp_path / "train.py").unlink()
    assert ame("init", str(tmp_path)).returncode == 0
    assert (tmp_path / ".gitignore").read_text().splitlines()[:2] == ["*.log", ".ame/"]
    again = ame("init", str(tmp_path))
    assert again.returncode == 2 and "ame.yml already exists" in again.stderr


def test_templates_are_the_examples_and_an_unknown_one_lists_them(tmp_path: Path):
    examples = sorted(p.name for p in (REPO / "examples").iterdir() if (p / "ame.yml").is_file())
    listed = ame("init", "--list-templates")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == examples
    as_json = ame("init", "--list-templates", "--json")
    assert as_json.stdout == ame("init", "--list-templates", "--format", "json").stdout
    assert [t["name"] for t in json.loads(as_json.stdout) if t["default"]] == ["quickstart"]
    unknown = ame("init", "--template", "nope", str(tmp_path / "x"))
    assert unknown.returncode == 2
    assert unknown.stderr == f"ame: no template 'nope'; templates: {', '.join(examples)}\n"
    assert not (tmp_path / "x").exists()
    made = ame("init", "--template", "pipeline", "--project", "flows", str(tmp_path / "p"))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "p" / "train_tree.py").is_file()
    assert "project: flows\n" in (tmp_path / "p" / "ame.yml").read_text()
    assert ame("lint", str(tmp_path / "p")).returncode == 0


def test_an_installed_package_carries_the_examples(tmp_path: Path):
    """Build the sdist and, from it, the wheel (as `pip install` from PyPI would), and run
    `ame init --template` from the unpacked wheel, away from the source tree."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    built = subprocess.run(
        [uv, "build", "--no-build-isolation", "-q", "-o", str(tmp_path / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        env={**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "ame_cli/examples/quickstart/train.py" in names
    assert not [n for n in names if "/.ame/" in n or n.endswith("mlflow.db")]
    launcher = [
        sys.executable,
        "-c",
        "import sys; site = sys.argv[1]; sys.path.insert(0, site); import ame_cli; "
        "assert ame_cli.__file__.startswith(site), ame_cli.__file__; "
        "from ame_cli.main import main; sys.exit(main(sys.argv[2:]))",
        str(site),
    ]
    made = ame("init", "--template", "mlserver_canary", "proj", cwd=tmp_path, python=launcher)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "proj" / "validate.py").is_file()
