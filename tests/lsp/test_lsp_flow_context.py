"""The flow-style cursor: what it finds, and that no text makes it fail."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ame_lsp.context import ItemStep, KeyStep
from ame_lsp.flow_context import flow_cursor


def _at(marked: str):
    """The cursor at `|` in a text."""
    index = marked.index("|")
    text = marked.replace("|", "", 1)
    line = marked[:index].count("\n")
    col = index - (marked[:index].rfind("\n") + 1)
    return flow_cursor(text.split("\n"), line, col)


def test_keys_of_a_flow_mapping_before_and_after_the_cursor():
    cursor = _at("tasks:\n  - name: t\n    resources: {cpu: 1, |, memory: 1Gi}")
    assert cursor is not None and cursor.on == "key" and cursor.flow
    assert cursor.steps == [KeyStep("tasks"), ItemStep(), KeyStep("resources")]
    assert cursor.present == {"cpu", "memory"}


def test_value_of_a_tagged_flow_mapping():
    cursor = _at("tasks:\n  - name: t\n    executor: !pip {command: x, pythonVersion: 3.|}")
    assert cursor is not None and cursor.on == "value" and cursor.key == "pythonVersion"
    assert cursor.steps[-1] == KeyStep("executor", "!pip")
    assert cursor.info.value == "3."


def test_a_flow_mapping_over_several_lines_and_quoted_commas():
    cursor = _at('tasks:\n  - {name: "a, b",\n     |}')
    assert cursor is not None and cursor.on == "key" and cursor.present == {"name"}


def test_items_of_a_flow_sequence_and_nested_mappings():
    item = _at("tasks:\n  - name: t\n    dataSets: [ds_1, d|]")
    assert item is not None and item.on == "item" and item.word == "d"
    assert item.steps[-2:] == [KeyStep("dataSets"), ItemStep()]
    ref = _at("tasks:\n  - name: p\n    pipeline: [{taskRef: |}]")
    assert ref is not None and ref.on == "value" and ref.key == "taskRef"
    assert ref.steps[-2:] == [KeyStep("pipeline"), ItemStep()]


def test_not_in_a_flow_collection():
    assert _at("tasks:\n  - name: t\n    command: echo {|") is None  # a plain scalar
    assert _at("tasks:\n  - {name: t}\n  - name: |") is None  # closed before the cursor
    assert _at('tasks:\n  - name: t\n    command: "{|"') is None  # inside quotes


_PIECES = ["{", "}", "[", "]", ",", ":", " ", "\n", "- ", "a", "name", "!pip", "'", '"', "#", "  "]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=40),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=80),
)
def test_never_fails_on_any_text(pieces: list[str], line: int, col: int):
    lines = ("tasks:\n  - " + "".join(pieces)).split("\n")
    cursor = flow_cursor(lines, line, col)
    if cursor is not None:
        assert 0 <= cursor.word_start <= cursor.col <= len(lines[cursor.line])
