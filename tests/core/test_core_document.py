"""The loader: positions, tags, anchors and merges, and every kind of bad input."""

from __future__ import annotations

import time

import pytest

from ame_core.document import YamlFloat, parse_yaml
from ame_core.engine import analyze


def test_every_node_keeps_its_range_and_tag():
    doc = parse_yaml("project: p\ntasks:\n  - name: t\n    executor: !pip\n      command: x\n")
    assert doc.view["tasks"][0]["executor"] == {"pip": {"command": "x"}}
    assert doc.range_of(("tasks", 0, "name")).as_tuple() == (2, 10, 2, 11)
    assert doc.range_of(("tasks", 0, "name"), key=True).as_tuple() == (2, 4, 2, 8)
    executor = doc.node_at(("tasks", 0, "executor"))
    assert executor.tag == "!pip"
    # the tag's step in the JSON view stays on the tagged node
    assert doc.node_at(("tasks", 0, "executor", "pip")) is executor
    assert doc.node_at(("tasks", 0, "executor", "pip", "command")).value == "x"


def test_path_at_finds_the_innermost_node():
    doc = parse_yaml("project: p\ntasks:\n  - name: train\n    fromTemplate: base\n")
    path, node, is_key = doc.path_at(3, 20)
    assert path == ("tasks", 0, "fromTemplate") and node.value == "base" and not is_key
    path, _, is_key = doc.path_at(3, 6)
    assert path == ("tasks", 0, "fromTemplate") and is_key


def test_string_fields_keep_the_source_text():
    doc = parse_yaml("v: 3.10\nw: 1_000\n")
    assert isinstance(doc.view["v"], YamlFloat) and doc.view["v"].source == "3.10"
    analysis = analyze(
        'project: p\ntasks:\n  - name: t\n    executor: !pip {pythonVersion: 3.10, command: "x"}\n'
    )
    assert analysis.project.tasks[0].executor.pip.python_version == "3.10"


def test_anchors_aliases_and_merge_keys_expand():
    text = (
        "project: p\n"
        "x-base:\n  res: &res {cpu: 1, memory: 1Gi}\n"
        "tasks:\n"
        "  - name: a\n    executor: !custom {command: x}\n    resources:\n      <<: *res\n      cpu: 2\n"
        "  - name: b\n    executor: !custom {command: x}\n    resources: *res\n"
    )
    analysis = analyze(text)
    assert analysis.diagnostics == []
    a, b = analysis.project.tasks
    assert a.resources == {"cpu": 2, "memory": "1Gi"}  # explicit keys win over merged ones
    assert b.resources == {"cpu": 1, "memory": "1Gi"}


def test_merge_of_a_list_of_mappings_keeps_the_first():
    doc = parse_yaml("a: &a {x: 1}\nb: &b {x: 2, y: 3}\nc:\n  <<: [*a, *b]\n")
    assert doc.view["c"] == {"x": 1, "y": 3}


def test_duplicate_keys_are_errors_at_the_second_key():
    analysis = analyze("project: p\ntasks: []\nproject: q\n")
    (dup,) = [d for d in analysis.diagnostics if d.code == "AME003"]
    assert dup.range.as_tuple() == (2, 0, 2, 7)
    assert "line 1" in dup.message


def test_a_second_document_is_an_error():
    analysis = analyze("project: p\n---\nproject: q\n")
    (d,) = analysis.diagnostics
    assert d.code == "AME002" and d.range.start_line == 1


def test_syntax_error_has_a_position():
    analysis = analyze("project: p\ntasks:\n  - name: [unclosed\n")
    (d,) = analysis.diagnostics
    assert d.code == "AME001" and d.range.start_line >= 2 and "YAML syntax error" in d.message


def test_tabs_are_reported():
    analysis = analyze("project: p\ntasks:\n\t- name: x\n")
    assert [d.code for d in analysis.diagnostics] == ["AME001"]
    assert analysis.diagnostics[0].range.start_line == 2


@pytest.mark.parametrize("text", ["", "   \n", "# just a comment\n"])
def test_empty_files_say_what_is_missing(text):
    (d,) = analyze(text).diagnostics
    assert d.code == "AME007" and "project" in d.message


def test_non_mapping_root():
    (d,) = analyze("- a\n- b\n").diagnostics
    assert d.code == "AME007" and "a list" in d.message


def test_billion_laughs_is_stopped_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    started = time.monotonic()
    analysis = analyze(text)
    elapsed = time.monotonic() - started
    assert [d.code for d in analysis.diagnostics] == ["AME004"]
    assert "alias bomb" in analysis.diagnostics[0].message
    assert elapsed < 30  # a hang would never return; this only guards against one


def test_recursive_alias_is_an_error():
    (d,) = analyze("a: &a [*a]\n").diagnostics
    assert d.code == "AME005"


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deep_flow_nesting_is_stopped(depth):
    text = "project: " + "[" * depth + "]" * depth + "\n"
    (d,) = analyze(text).diagnostics
    # ours stops at 200 levels; libyaml's own limit (1000) may speak first on huge inputs
    assert d.code in ("AME004", "AME001") and "nesting" in d.message


def test_deep_block_nesting_is_stopped():
    text = "".join(" " * i + "a:\n" for i in range(400)) + " " * 400 + "b\n"
    (d,) = analyze(text).diagnostics
    assert d.code == "AME004"


def test_binary_and_control_characters():
    diagnostics = analyze("project: \x00\x01\x02\n").diagnostics
    assert [d.code for d in diagnostics] == ["AME001"]


def test_byte_order_mark_is_ignored():
    analysis = analyze("\ufeffproject: p\n")
    assert analysis.diagnostics == [] and analysis.project.project == "p"


def test_a_million_keys_do_not_hang():
    text = "project: p\nx-many:\n" + "".join(f"  k{i}: {i}\n" for i in range(200_000))
    analysis = analyze(text)
    assert analysis.project is not None and analysis.errors == []


def test_non_string_keys_are_errors():
    analysis = analyze("project: p\n? [a, b]\n: c\n")
    assert "AME006" in [d.code for d in analysis.diagnostics]


def test_a_flood_of_problems_is_capped_and_fast():
    text = "project: p\ntasks:\n  - name: t\n    resources:\n" + "".join(
        f"      k{i}: {i}\n" for i in range(20_000)
    )
    analysis = analyze(text)
    assert len(analysis.diagnostics) == 1001
    assert analysis.diagnostics[-1].code == "AME009"


def test_source_map_covers_every_path_of_the_view():
    doc = parse_yaml(
        "project: p\nx-a: &r {cpu: 1}\ntasks:\n  - name: t\n    executor: !pip {command: x}\n"
        "    resources:\n      <<: *r\n      memory: 1Gi\n"
    )
    smap = doc.source_map()
    assert smap[("tasks", 0, "name")].as_tuple() == (3, 10, 3, 11)
    assert smap[("tasks", 0, "executor", "pip", "command")].start_line == 4
    assert smap[("tasks", 0, "resources", "cpu")].start_line == 1  # merged: where it is written
    assert smap[("tasks", 0, "resources", "memory")].start_line == 7
