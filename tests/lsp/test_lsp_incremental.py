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
