"""Each check: its code, its exact range, a message that says what would be right, its fix."""

from __future__ import annotations

import pytest
from core_support import codes, only, text_at

from ame_core.diagnostics import Severity, apply_edits

BASE = "project: p\ntasks:\n"


def fixed(text: str, diagnostic, index: int = 0) -> str:
    return apply_edits(text, diagnostic.fixes[index].edits)


def test_clean_file_has_no_diagnostics(check):
    text = BASE + '  - name: t\n    executor: !pip\n      pythonVersion: "3.11"\n      command: x\n'
    assert check(text).diagnostics == []


def test_wrong_type_points_at_the_value(check):
    text = BASE + "  - name: t\n    executor: !custom {command: x}\n    resources: [1, 2]\n"
    d = only(check(text), "AME101")
    assert text_at(text, d) == "resources" and "expected a mapping" in d.message


def test_missing_required_field_in_executor(check):
    text = BASE + "  - name: t\n    executor: !pip\n      command: python x.py\n"
    d = only(check(text), "AME102")
    assert text_at(text, d) == "!pip"
    assert "pythonVersion" in d.message


def test_unknown_key_with_did_you_mean_and_fix(check):
    text = BASE + "  - name: t\n    executor: !custom {command: x}\n    resorces: {cpu: 1}\n"
    d = only(check(text), "AME103")
    assert text_at(text, d) == "resorces" and "did you mean `resources`" in d.message
    after = fixed(text, d)
    assert "resources: {cpu: 1}" in after and check(after).diagnostics == []


def test_invalid_and_duplicate_names(check):
    text = (
        BASE
        + "  - name: bad.name\n    executor: !custom {command: x}\n"
        + "  - name: twice\n    executor: !custom {command: x}\n"
        + "  - name: twice\n    executor: !custom {command: x}\n"
    )
    analysis = check(text)
    bad = only(analysis, "AME201")
    assert text_at(text, bad) == "bad.name" and "dots" in bad.message
    dup = only(analysis, "AME202")
    assert dup.range.start_line == 6 and "line 5" in dup.message


def test_unknown_references_suggest_the_closest_name(check):
    text = (
        "project: p\n"
        "templates:\n  - name: gpu_large\n    resources: {cpu: 1}\n"
        "dataSets:\n  - name: raw\n    path: data\n"
        "tasks:\n"
        "  - name: train\n    fromTemplate: gpu_larg\n    executor: !custom {command: x}\n"
        "    dataSets: [rwa]\n"
        "  - name: alias\n    taskRef: trian\n"
    )
    analysis = check(text)
    template = only(analysis, "AME204")
    assert text_at(text, template) == "gpu_larg" and "did you mean 'gpu_large'" in template.message
    data_set = only(analysis, "AME205")
    assert text_at(text, data_set) == "rwa"
    task = only(analysis, "AME203")
    assert text_at(text, task) == "trian"
    assert check(fixed(text, task)).diagnostics == [] or "AME203" not in codes(
        check(fixed(text, task))
    )


def test_cycles(check):
    text = (
        "project: p\n"
        "templates:\n  - name: a\n    fromTemplate: b\n  - name: b\n    fromTemplate: a\n"
        "tasks:\n  - name: x\n    taskRef: y\n  - name: y\n    taskRef: x\n"
        "  - name: pipe\n    pipeline:\n      - taskRef: pipe\n"
    )
    cycles = [d for d in check(text).diagnostics if d.code == "AME207"]
    assert len(cycles) >= 3
    assert any("template cycle" in d.message for d in cycles)
    assert any("task reference cycle" in d.message for d in cycles)
    assert any("pipe" in d.message and d.range.start_line == 13 for d in cycles)


def test_task_without_executor_after_template_merge(check):
    text = (
        "project: p\ntemplates:\n  - name: res\n    resources: {cpu: 1}\n"
        "  - name: runner\n    executor: !custom {command: x}\n"
        "tasks:\n  - name: no_exec\n    fromTemplate: res\n  - name: ok\n    fromTemplate: runner\n"
    )
    d = only(check(text), "AME208")
    assert d.range.start_line == 7 and "no_exec" in d.message and "templates" in d.message


@pytest.mark.parametrize(
    ("resource", "value", "code", "needle"),
    [
        ("memory", "10GB", "AME301", "10G"),
        ("cpu", "four", "AME301", "number"),
        ("cpu", "-1", "AME301", "negative"),
        ("nvidia.com/gpu", "0.5", "AME302", "whole number"),
    ],
)
def test_invalid_quantities(check, resource, value, code, needle):
    text = (
        BASE
        + f"  - name: t\n    executor: !custom {{command: x}}\n    resources:\n      {resource}: {value}\n"
    )
    d = only(check(text), code)
    assert text_at(text, d) == value and needle in d.message


def test_unknown_resource_name_points_at_the_key(check):
    text = BASE + "  - name: t\n    executor: !custom {command: x}\n    resources:\n      gpu: 1\n"
    d = only(check(text), "AME303")
    assert text_at(text, d) == "gpu" and "nvidia.com/gpu" in d.message


def test_invalid_cron_underlines_the_field(check):
    text = (
        BASE
        + '  - name: t\n    executor: !custom {command: x}\n    triggers:\n      schedule: "0 25 * * *"\n'
    )
    d = only(check(text), "AME304")
    assert text_at(text, d) == "25" and "hour" in d.message


def test_misplaced_tag_above_executor_is_fixed_by_moving_it(check):
    text = (
        BASE
        + '  - name: t\n    !poetry\n    executor:\n      pythonVersion: "3.11"\n      command: x\n'
    )
    analysis = check(text)
    d = only(analysis, "AME106")
    assert text_at(text, d) == "!poetry"
    assert analysis.project is not None  # read as if fixed, so the rest is still checked
    after = fixed(text, d)
    assert "executor: !poetry" in after and check(after).diagnostics == []


def test_tag_on_the_task_instead_of_the_executor(check):
    text = (
        BASE
        + '  - !pip\n    name: t\n    executor:\n      pythonVersion: "3.11"\n      command: x\n'
    )
    d = only(check(text), "AME106")
    assert text_at(text, d) == "!pip"
    assert d.fixes, "a fix that moves the tag onto executor:"


def test_seed_spelling_tag_above_fields_is_valid(check):
    text = (
        BASE
        + '  - name: t\n    executor:\n      !poetry\n      pythonVersion: "3.11"\n      command: x\n'
    )
    assert check(text).diagnostics == []


def test_unknown_executor_tag(check):
    text = (
        BASE + '  - name: t\n    executor: !poetri\n      pythonVersion: "3.11"\n      command: x\n'
    )
    d = only(check(text), "AME107")
    assert text_at(text, d) == "!poetri" and "!poetry" in d.message
    assert check(fixed(text, d)).diagnostics == []


def test_unquoted_python_version_is_information_with_a_quote_fix(check):
    text = BASE + "  - name: t\n    executor: !pip\n      pythonVersion: 3.10\n      command: x\n"
    analysis = check(text)
    d = only(analysis, "AME110")
    assert d.severity == Severity.INFORMATION and text_at(text, d) == "3.10"
    assert analysis.project.tasks[0].executor.pip.python_version == "3.10"
    assert 'pythonVersion: "3.10"' in fixed(text, d)


def test_executor_without_variant(check):
    text = BASE + "  - name: t\n    executor:\n      pythonVersion: '3.11'\n      command: x\n"
    d = only(check(text), "AME108")
    assert "!pip" in d.message and len(d.fixes) == 5
    after = apply_edits(text, d.fixes[1].edits)  # Add tag !pip
    assert check(after).diagnostics == []


@pytest.mark.parametrize("serving", ["kserve", "triton"])
def test_cluster_only_serving_is_information(check, serving):
    text = f"project: p\nmodels:\n  - name: m\n    deployment:\n      serving: {serving}\n"
    d = only(check(text), "AME401")
    assert d.severity == Severity.INFORMATION and text_at(text, d) == serving
    assert d.message == (f"serving '{serving}' is cluster only: deploy with --backend kubernetes")


def test_alias_spellings_warn_with_a_fix_to_the_canonical_one(check):
    text = (
        "name: p\ntasks:\n  - name: t\n    executor: !pipEnv {command: x}\n"
        "    env:\n      - key: A\n        val: b\n"
    )
    analysis = check(text)
    warnings = [d for d in analysis.diagnostics if d.code == "AME104"]
    assert {text_at(text, d) for d in warnings} == {"name", "!pipEnv", "env"}
    assert all(d.severity == Severity.WARNING and "deprecated" in d.tags for d in warnings)
    after = text
    for d in sorted(warnings, key=lambda d: d.range.start_line, reverse=True):
        after = fixed(after, d)
    assert check(after).diagnostics == []
    assert analysis.project.tasks[0].environment[0].key == "A"  # aliases are still read


def test_validation_task_alias_nests_its_value(check):
    text = (
        "project: p\nmodels:\n  - name: m\n    validationTask:\n      taskRef:\n        name: v\n"
        "tasks:\n  - name: v\n    executor: !custom {command: x}\n"
    )
    analysis = check(text)
    d = only(analysis, "AME104")
    assert analysis.project.models[0].validation.task.task_ref.name == "v"
    after = fixed(text, d)
    assert "validation:\n      task:\n        taskRef:" in after
    assert check(after).diagnostics == []


def test_legacy_keys_are_errors_with_hints(check):
    text = "projectname: p\ntasks:\n  echo:\n    runcommand: python echo.py\n"
    analysis = check(text)
    assert codes(analysis) == ["AME105", "AME105", "AME105"]
    assert "project:" in analysis.diagnostics[0].message
    assert "list" in analysis.diagnostics[1].message
    # the tasks of the legacy map are still checked: every spelling to migrate shows at once
    assert "runcommand" in analysis.diagnostics[2].message


def test_task_with_taskref_takes_no_other_fields(check):
    text = (
        BASE
        + "  - name: a\n    executor: !custom {command: x}\n  - name: b\n    taskRef: a\n    resources: {cpu: 1}\n"
    )
    d = only(check(text), "AME210")
    assert text_at(text, d) == "taskRef" and "`resources`" in d.message


def test_one_bad_task_does_not_hide_the_others(check):
    text = (
        BASE
        + "  - name: a\n    executor: 5\n  - name: b\n    fromTemplate: missing\n    executor: !custom {command: x}\n"
    )
    assert codes(check(text)) == ["AME101", "AME204"]


ROLLOUT = (
    BASE
    + '  - name: t\n    executor: !pip\n      pythonVersion: "3.11"\n      command: x\n'
    + "models:\n  - name: m\n    training:\n      task: {taskRef: t}\n    deployment:\n"
    + "      rollout:\n"
)


def test_a_canary_rollout_as_format_md_writes_it_is_clean(check):
    text = ROLLOUT + (
        "        strategy: canary\n        canary: 20%\n        window: 10m\n"
        "        minRequests: 50\n        gate: {maxErrorRate: 1%, maxLatencyP95: 250ms}\n"
    )
    assert check(text).diagnostics == []


@pytest.mark.parametrize(
    ("line", "code", "underlined", "says"),
    [
        ("canary: 150%", "AME306", "150%", "between 1% and 99%"),
        ("canary: lots", "AME306", "lots", "not a percentage: write e.g. 10% or 10"),
        ("window: 5", "AME305", "5", "a number with a unit (ms, s, m, h, d)"),
        ("window: 0s", "AME305", "0s", "not a positive duration"),
        ("gate: {maxLatencyP95: fast}", "AME305", "fast", "gate.maxLatencyP95"),
        ("gate: {maxErrorRate: 120%}", "AME306", "120%", "between 0% and 100%"),
    ],
)
def test_rollout_durations_and_percentages_are_checked_at_the_value(
    check, line, code, underlined, says
):
    text = ROLLOUT + "        strategy: canary\n        " + line + "\n"
    d = only(check(text), code)
    assert text_at(text, d) == underlined
    assert says in d.message and d.severity is Severity.ERROR


def test_durations_and_percentages_parse_exactly() -> None:
    from ame_core.durations import format_duration, parse_duration, parse_percent

    assert [parse_duration(v) for v in ("30s", "5m", "1h", "250ms", "1.5m")] == [
        30.0, 300.0, 3600.0, 0.25, 90.0
    ]  # fmt: skip
    assert [parse_percent(v) for v in ("10%", 10, "2.5%", " 20 % ")] == [10.0, 10.0, 2.5, 20.0]
    assert format_duration(90) == "1m30s" and format_duration(0.25) == "250ms"
