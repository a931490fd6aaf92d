"""Build hook: the examples ship inside the package (as `ame_cli/examples/`), so an installed
`ame init --template NAME` finds them. Everything else is in pyproject.toml."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _template_rules():
    """ame_cli/init_templates.py, loaded by path: the one rule of which files make an
    example, without importing the package (and its dependencies) at build time."""
    spec = importlib.util.spec_from_file_location(
        "_ame_init_templates", HERE / "ame_cli" / "init_templates.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_files(root: Path) -> list[Path]:
    """The files at the top of each example folder (the examples are flat; what a run leaves
    behind, such as `.ame/` or `data/`, lives in sub-folders and is left out)."""
    return sorted(
        path
        for example in root.iterdir()
        if example.is_dir() and not example.name.startswith((".", "_"))
        for path in example.iterdir()
        if path.is_file() and _template_rules().is_template_file(path.name)
    )


class build_py_with_examples(build_py):
    def run(self) -> None:
        super().run()
        source = HERE / "examples"
        if not source.is_dir():  # building from an sdist without them: nothing to add
            return
        target = Path(self.build_lib) / "ame_cli" / "examples"
        for path in example_files(source):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)


setup(cmdclass={"build_py": build_py_with_examples})
