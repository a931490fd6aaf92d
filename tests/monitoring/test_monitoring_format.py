"""The `monitoring:` section as the engine reads it (FORMAT.md, "Monitoring"): every key, and
the mistakes each gets a diagnostic for, at the value."""

from __future__ import annotations

from ame_core.engine import analyze

HEAD = """project: m
tasks:
  - name: t
    executor: !pip {pythonVersion: "3.11", command: python t.py}
models:
  - name: m
    training: {task: {taskRef: t}}
    monitoring:
"""


def _problems(section: str) -> list[tuple[str, int, int, str]]:
    analysis = analyze(HEAD + section)
    return [
        (d.code, d.range.start_line + 1, d.range.start_col + 1, d.message)
        for d in analysis.diagnostics
    ]


def test_every_key_of_the_section_is_read() -> None:
    analysis = analyze(
        HEAD
        + "      reference: data/train.csv\n      schedule: '0 * * * *'\n      window: 30m\n"
        + "      drift: {threshold: 0.2, features: [a, b]}\n      task: {taskRef: t}\n"
    )
    assert analysis.diagnostics == []
    monitoring = analysis.project.models[0].monitoring
    assert monitoring.reference == "data/train.csv" and monitoring.window == "30m"
    assert monitoring.drift.threshold == 0.2 and monitoring.drift.features == ["a", "b"]
    assert monitoring.task is not None


def test_without_a_task_the_section_is_valid_and_the_window_defaults_to_an_hour() -> None:
    analysis = analyze(HEAD + "      reference: data/train.csv\n")
    assert analysis.diagnostics == []
    assert analysis.project.models[0].monitoring.window == "1h"


def test_a_bad_window_and_threshold_are_reported_at_their_values() -> None:
    found = _problems("      window: 5 parsecs\n      drift: {threshold: -1}\n")
    assert found[0][:3] == ("AME305", 9, 15) and "not a duration" in found[0][3]
    assert found[1][:3] == ("AME109", 10, 26) and "must be above 0" in found[1][3]


def test_numbers_from_the_file_can_be_copied() -> None:
    """dataclasses.asdict deep-copies: a report built with the file's threshold must not fail."""
    import copy

    analysis = analyze(HEAD + "      drift: {threshold: 0.25}\n")
    threshold = analysis.project.models[0].monitoring.drift.threshold
    copied = copy.deepcopy(threshold)
    assert copied == 0.25 and type(copied) is type(threshold)
