"""The compatibility corpus: real files written for the older AME implementation.

Each file gives the diagnostics FORMAT.md implies: a warning with a fix for every alias spelling,
an error with a migration hint for every legacy one, and no crash. The files are linted together,
so their cross-project references (`datasetdemo.dataset1`) resolve as in a workspace.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from core_support import COMPAT

from ame_core.diagnostics import Severity, apply_edits
from ame_core.engine import analyze

EXPECTED = {
    "ame-dataset-demo.yaml": [
        (1, "AME104"),
        (4, "AME105"),
        (5, "AME104"),
        (7, "AME203"),
        (14, "AME105"),
        (15, "AME105"),
        (16, "AME105"),
        (20, "AME105"),
        (21, "AME105"),
        (31, "AME104"),
        (34, "AME104"),
    ],
    "ame-demo.yaml": [
        (1, "AME104"),
        (4, "AME105"),
        (5, "AME104"),
        (14, "AME105"),
        (15, "AME105"),
        (16, "AME105"),
        (19, "AME105"),
        (20, "AME105"),
        (33, "AME104"),
    ],
    "ame-template-demo.yaml": [(1, "AME104")],
    "ame-test-artifacts.yaml": [(1, "AME105"), (2, "AME105"), (7, "AME105"), (8, "AME105")],
    "ame-test-echo.yaml": [
        (1, "AME105"),
        (2, "AME105"),
        (7, "AME105"),
        (8, "AME105"),
        (9, "AME105"),
        (14, "AME105"),
        (15, "AME105"),
        (17, "AME105"),
        (21, "AME105"),
        (22, "AME105"),
    ],
    "ame-test-env.yaml": [(1, "AME104"), (4, "AME104"), (13, "AME104"), (20, "AME104")],
    "ame-test-executors-custom.yaml": [(1, "AME104"), (3, "AME105"), (10, "AME110")],
    "ame-test-executors-mlflow.yaml": [(1, "AME104"), (3, "AME105"), (20, "AME204")],
    "ame-test-executors-pip.yaml": [(1, "AME104"), (3, "AME105"), (10, "AME110")],
    "ame-test-executors-pipenv.yaml": [(1, "AME104"), (3, "AME105"), (8, "AME104")],
    "ame-test-executors-poetry.yaml": [(1, "AME104"), (3, "AME105")],
    "ame-test-invalid_project.yaml": [(1, "AME101"), (1, "AME104"), (3, "AME105")],
    "ame-test-new_echo.yaml": [
        (1, "AME104"),
        (4, "AME108"),
        (10, "AME105"),
        (11, "AME105"),
        (12, "AME105"),
    ],
    "ame-test-pipeline.yaml": [
        (1, "AME105"),
        (2, "AME105"),
        (5, "AME105"),
        (6, "AME105"),
        (7, "AME104"),
        (8, "AME105"),
        (9, "AME105"),
        (10, "AME105"),
        (11, "AME105"),
        (13, "AME105"),
        (14, "AME105"),
        (15, "AME105"),
        (16, "AME105"),
        (17, "AME104"),
        (18, "AME105"),
        (19, "AME105"),
        (20, "AME105"),
        (21, "AME105"),
        (22, "AME104"),
        (23, "AME105"),
        (24, "AME105"),
    ],
    "ame-test-pipenvnn.yaml": [
        (1, "AME105"),
        (2, "AME105"),
        (8, "AME105"),
        (9, "AME105"),
        (11, "AME105"),
        (15, "AME105"),
        (16, "AME105"),
    ],
    "ame-test-poetry.yaml": [
        (1, "AME105"),
        (4, "AME105"),
        (5, "AME105"),
        (9, "AME105"),
        (10, "AME105"),
    ],
    "ame-test-sklearn_logistic_regression.yaml": [
        (1, "AME104"),
        (7, "AME105"),
        (8, "AME105"),
        (9, "AME105"),
    ],
}


def lint_corpus() -> list[dict]:
    files = sorted(str(p) for p in COMPAT.glob("*.yaml"))
    result = subprocess.run(
        [sys.executable, "-m", "ame_cli", "lint", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr  # the corpus has legacy errors
    return json.loads(result.stdout)


def test_corpus_is_present():
    assert len(list(COMPAT.glob("*.yaml"))) == len(EXPECTED)


def test_every_file_gives_the_diagnostics_format_md_implies():
    found: dict[str, list[tuple[int, str]]] = {name: [] for name in EXPECTED}
    for record in lint_corpus():
        found[record["file"].rsplit("/", 1)[-1]].append((record["line"], record["code"]))
    assert found == EXPECTED


@pytest.mark.parametrize("path", sorted(COMPAT.glob("*.yaml")), ids=lambda p: p.name)
def test_aliases_warn_and_legacy_spellings_error_with_a_hint(path):
    analysis = analyze(path.read_text(), str(path))
    for d in analysis.diagnostics:
        if d.code == "AME104":
            assert d.severity == Severity.WARNING and "write" in d.message and d.fixes
        if d.code == "AME105":
            assert d.severity == Severity.ERROR and "legacy" in d.message


@pytest.mark.parametrize("path", sorted(COMPAT.glob("*.yaml")), ids=lambda p: p.name)
def test_applying_every_alias_fix_leaves_no_alias_warning(path):
    text = path.read_text()
    for _ in range(10):
        analysis = analyze(text, str(path))
        aliases = [d for d in analysis.diagnostics if d.code == "AME104" and d.fixes]
        if not aliases:
            break
        text = apply_edits(text, aliases[0].fixes[0].edits)
    assert not [d for d in analyze(text).diagnostics if d.code == "AME104"]
