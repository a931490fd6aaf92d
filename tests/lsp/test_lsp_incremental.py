"""The incremental re-check gives exactly the engine's diagnostics, edit after edit."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from ame_core.engine import analyze
from ame_core.resolve import Workspace
from ame_lsp import incremental

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from generate import generate_project  # noqa: E402

EDITS = [
    ("command: python step_", lambda line, r: line + r.choice([" --x", "", " --seed 1"])),
    (
        "cpu: ",
        lambda line, r: (
            line.split("cpu:")[0] + "cpu: " + r.choice(["2", "four", "500m", "-1", "0.5"])
        ),
    ),
    (
        "memory: ",
        lambda line, r: line.split("memory:")[0] + "memory: " + r.choice(["2Gi", "10GB", "1e3"]),
    ),
    ("taskRef: task_", lambda line, r: line + r.choice(["", "9", "x"])),
    # The project's own name as a prefix, and an unknown project.
    (
        "taskRef: ",
        lambda line, r: line.replace("taskRef: ", r.choice(["taskRef: bench.", "taskRef: bnch."])),
    ),
    (
        "pythonVersion:",
        lambda line, r: (
            line.split("pythonVersion:")[0]
            + "pythonVersion: "
            + r.choice(['"3.11"', "3.10", "[3]"])
        ),
    ),
    (
        "schedule:",
        lambda line, r: (
            line.split("schedule:")[0] + "schedule: " + r.choice(['"0 2 * * *"', '"61 * * * *"'])
        ),
    ),
    ("- name: task_", lambda line, r: line + r.choice(["", "", "_b"])),
    # Renames that others see: templates and data sets, and a task renamed to a used name.
    ("- name: tmpl_", lambda line, r: line + r.choice(["", "_b", "0"])),
    ("- name: ds_", lambda line, r: line + r.choice(["", "_b", "1"])),
    ("- name: task_1", lambda line, r: line[: line.index("task_1")] + "task_2"),
    # A template gains an executor; a task loses its own (its template's then counts).
    (
        "- name: tmpl_",
        lambda line, r: line + "\n    executor: !custom\n      command: run",
    ),
    (
        "    executor:",
        lambda line, r: line.replace("executor:", r.choice(["executr:", "executor:"])),
    ),
    ("fromTemplate: tmpl_", lambda line, r: line + r.choice(["", "1", "x"])),
    # A template that uses another (or itself): chains, and cycles through the edited item.
    ("- name: tmpl_", lambda line, r: line + "\n    fromTemplate: tmpl_" + r.choice("012")),
    ("val: ", lambda line, r: line + r.choice(["", " # c", "\n      - key: X\n        val: y"])),
    # Half-typed YAML: the whole file stops parsing until it is fixed.
    ("command: python", lambda line, r: line.replace("command: ", 'command: "')),
]


GLOBAL = {"AME001", "AME002", "AME003", "AME202"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_incremental_equals_full_analysis(seed: int):
    """Random edits, each compared with the full analysis. An edit that breaks the whole file
    (a syntax error, a duplicate key or name) is undone by the next step, as a user would fix
    it, so the walk goes on from a checkable file."""
    rng = random.Random(seed)
    text = generate_project(120)
    path = "/tmp/incremental/ame.yml"
    previous = incremental.previous_state(analyze(text, path))
    fast = 0
    undo: str | None = None
    for _ in range(50):
        if undo is not None:
            text, undo = undo, None
        else:
            lines = text.split("\n")
            needle, edit = rng.choice(EDITS)
            candidates = [i for i, line in enumerate(lines) if needle in line]
            i = rng.choice(candidates)
            before = text
            lines[i] = edit(lines[i], rng)
            if rng.random() < 0.2:
                lines.insert(i + 1, " " * (len(lines[i]) - len(lines[i].lstrip())) + "# note")
            text = "\n".join(lines)
        full = analyze(text, path)
        if any(d.code in GLOBAL for d in full.diagnostics):
            undo = before
        quick = incremental.recheck(previous, text, path, Workspace())
        if quick is None:
            # As the server does: a text the fast path cannot start from keeps the last one.
            previous = incremental.previous_state(full) or previous
            continue
        fast += 1
        assert quick[0] == full.diagnostics
        previous = quick[1]
    assert fast > 15  # the fast path is really exercised


REPO = Path(__file__).resolve().parents[2]
REAL_FILES = [
    REPO / "examples" / "quickstart" / "ame.yml",
    REPO / "examples" / "pipeline" / "ame.yml",
    REPO.parent / "shared" / "compat" / "upstream" / "ame-dataset-demo.yaml",
    REPO.parent / "shared" / "compat" / "upstream" / "ame-test-env.yaml",
]
TYPED = list("abx_-.:!{}[]'\" 0123456789") + ["\n", "\n    ", "\n  - ", "# c"]
# Names of the generated file, so that typing also makes and breaks references there.
TYPED += ["task_1", "tmpl_0", "ds_1", "fromTemplate: tmpl_1", "taskRef: task_2"]


@pytest.mark.parametrize("path", [*REAL_FILES, None], ids=lambda p: p.name if p else "generated")
def test_typing_in_real_files_equals_full_analysis(path: Path | None, tmp_path: Path):
    """Character by character, as a user types: at random places in real files, insert or
    delete characters or cut a line short; each text's fast-path diagnostics must equal the
    full analysis."""
    if path is None:
        path = tmp_path / "ame.yml"
        path.write_text(generate_project(60))
    if not path.exists():
        pytest.skip(f"{path} is not here (the compat corpus sits beside the repository)")
    rng = random.Random(path.name)
    original = path.read_text()
    text = original
    previous = incremental.previous_state(analyze(text, str(path)))
    fast = 0
    for step in range(200):
        if rng.random() < 0.3:
            text = original  # the typo is undone: back to the real file
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        col = rng.randrange(len(lines[i]) + 1)
        choice = rng.random()
        if choice < 0.25 and lines[i]:
            col = min(col, len(lines[i]) - 1)
            lines[i] = lines[i][:col] + lines[i][col + 1 :]
        elif choice < 0.35:
            lines[i] = lines[i][:col]
        else:
            lines[i] = lines[i][:col] + rng.choice(TYPED) + lines[i][col:]
        text = "\n".join(lines)
        full = analyze(text, str(path))
        quick = incremental.recheck(previous, text, str(path), Workspace())
        if quick is None:
            previous = incremental.previous_state(full) or previous
            continue
        fast += 1
        assert quick[0] == full.diagnostics, f"step {step}: line {i + 1}: {lines[i]!r}"
        previous = quick[1]
    assert fast > 10
