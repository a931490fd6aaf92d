"""deploy/Dockerfile, the flow drivers' image, as far as this machine can build it (no Docker
engine here): what its COPY lines bring in installs on its own, in a fresh environment, and
runs the driver at the version the clients have (a driver refuses a flow from another one)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def _copied() -> list[str]:
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"]:
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_the_driver_image_installs_from_what_it_copies(tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed")
    context = tmp_path / "src"
    context.mkdir()
    for source in _copied():
        path = ROOT / source
        assert path.exists(), f"deploy/Dockerfile copies {source}, which does not exist"
        ignore = shutil.ignore_patterns("__pycache__")
        if path.is_dir():
            shutil.copytree(path, context / source, ignore=ignore)
        else:
            shutil.copy(path, context / source)
    env_dir = tmp_path / "image"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env_dir)], check=True)
    python = str(env_dir / "bin" / "python")
    # Not editable, as `pip install .` in the image: only the copied files exist there.
    subprocess.run([uv, "pip", "install", "-q", "--python", python, str(context)], check=True)
    shutil.rmtree(context)
    driver = subprocess.run(
        [python, "-m", "ame_core.runtime.kubernetes.flow_driver", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert driver.returncode == 0, driver.stderr
    assert "FLOW_ID" in driver.stdout
    version = subprocess.run(
        [python, "-c", "from ame_core.runtime.kubernetes import wheel; print(wheel.ame_version())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    from ame_core.runtime.kubernetes import wheel

    assert version == wheel.ame_version()
