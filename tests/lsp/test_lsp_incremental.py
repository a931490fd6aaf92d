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
    ("val: ", lambda line, r: line + r.choice(["", " # c", "\n      - key: X\n        val: y"])),
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_incremental_equals_full_analysis(seed: int):
    rng = random.Random(seed)
    text = generate_project(120)
    path = "/tmp/incremental/ame.yml"
    previous = incremental.previous_state(text, analyze(text, path).diagnostics)
    fast = 0
    for _ in range(40):
        lines = text.split("\n")
        needle, edit = rng.choice(EDITS)
        candidates = [i for i, line in enumerate(lines) if needle in line]
        i = rng.choice(candidates)
        lines[i] = edit(lines[i], rng)
        if rng.random() < 0.2:
            lines.insert(i + 1, " " * (len(lines[i]) - len(lines[i].lstrip())) + "# note")
        text = "\n".join(lines)
        expected = analyze(text, path).diagnostics
        quick = incremental.recheck(previous, text, path, Workspace())
        if quick is None:
            previous = incremental.previous_state(text, expected)
            continue
        fast += 1
        assert quick[0] == expected
        previous = quick[1]
    assert fast > 5  # the fast path is really exercised
