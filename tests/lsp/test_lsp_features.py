"""Each editor feature of ame-lsp, end to end against the real server process (pytest-lsp)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_support import (
    APP,
    SHARED,
    codes,
    open_doc,
    pos,
    uri,
    wait_for_publish,
    workspace_session,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


ws, client = workspace_session("ws", debounce_ms=50, open_app=True)


def _td(client: LanguageClient) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=client.app_uri)  # type: ignore[attr-defined]


async def test_cross_project_references_resolve(client: LanguageClient):
    published = await wait_for_publish(client, client.app_uri, 1)  # type: ignore[attr-defined]
    assert codes(published) == []


async def _complete(client: LanguageClient, text: str, needle: str, offset: int) -> list[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=_td(client), position=pos(text, needle, offset))
    )
    assert result is not None
    items = result.items if isinstance(result, types.CompletionList) else result
    return [item.label for item in items]


async def test_hover_quantity(client: LanguageClient):
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=_td(client), position=pos(APP, "size: 10G", 7))
    )
    assert hover is not None
    assert "10,000,000,000 bytes" in hover.contents.value
    assert "9.31 GiB" in hover.contents.value


# --- completion -------------------------------------------------------------------------------


async def _completion_items(
    client: LanguageClient, text: str, position: types.Position, doc_uri: str | None = None
) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=doc_uri or client.app_uri),  # type: ignore[attr-defined]
            position=position,
        )
    )
    assert result is not None
    return list(result.items if isinstance(result, types.CompletionList) else result)


async def _scratch(client: LanguageClient, ws: dict[str, Path], name: str, text: str) -> str:
    """Open an extra (unsaved) project file next to the workspace and return its URI."""
    path = ws["app"].parent.parent / name / "ame.yml"
    path.parent.mkdir(exist_ok=True)
    return open_doc(client, path, text)


async def test_completion_keys_of_a_task_required_first(client: LanguageClient, ws):
    text = "project: scratch1\ntasks:\n  - name: a\n    \n"
    doc = await _scratch(client, ws, "scratch1", text)
    items = await _completion_items(client, text, types.Position(line=3, character=4), doc)
    labels = [i.label for i in items]
    assert "executor" in labels and "resources" in labels and "fromTemplate" in labels
    assert "name" not in labels  # already there
    executor = next(i for i in items if i.label == "executor")
    assert executor.insert_text_format == types.InsertTextFormat.Snippet
    assert (
        "pythonVersion" in executor.text_edit.new_text and "command" in executor.text_edit.new_text
    )
    ordered = sorted(items, key=lambda i: i.sort_text or i.label)
    assert ordered[0].label == "executor"  # required for a task in `tasks:` comes first


async def test_completion_root_keys_on_blank_line(client: LanguageClient, ws):
    text = "project: scratch2\n\n"
    doc = await _scratch(client, ws, "scratch2", text)
    labels = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=1, character=0), doc)
    ]
    assert {"tasks", "templates", "models", "dataSets"} <= set(labels)
    assert "project" not in labels


async def test_completion_executor_tags_mid_typing(client: LanguageClient, ws):
    # `executor: !` is not valid YAML: completion still knows where it is.
    text = "project: scratch3\ntasks:\n  - name: a\n    executor: !\n"
    doc = await _scratch(client, ws, "scratch3", text)
    items = await _completion_items(client, text, types.Position(line=3, character=15), doc)
    labels = [i.label for i in items]
    assert {"!pip", "!poetry", "!pipenv", "!mlflow", "!custom"} <= set(labels)
    pip = next(i for i in items if i.label == "!pip")
    assert pip.text_edit.range.start.character == 14  # replaces the typed `!`
    assert "pythonVersion" in pip.text_edit.new_text


async def test_completion_executor_map_spelling(client: LanguageClient, ws):
    text = "project: scratch4\ntasks:\n  - name: a\n    executor:\n      \n"
    doc = await _scratch(client, ws, "scratch4", text)
    labels = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=4, character=6), doc)
    ]
    assert {"pip", "poetry", "pipenv", "mlflow", "custom"} <= set(labels)


async def test_completion_task_refs_local_and_other_projects(client: LanguageClient, ws):
    text = APP.replace("      - taskRef: fetch\n", "      - taskRef: \n", 1)
    doc = await _scratch(client, ws, "scratch5", text.replace("project: app", "project: app2"))
    position = pos(text, "      - taskRef: \n", 17)
    labels = [i.label for i in await _completion_items(client, text, position, doc)]
    assert {"fetch", "train", "flow"} <= set(labels)
    assert "shared_templates.prepare" in labels


async def test_completion_template_refs_with_project_prefix(client: LanguageClient):
    labels = await _complete(client, APP, "fromTemplate: small", len("fromTemplate: "))
    assert "small" in labels
    assert "shared_templates.xgboost_resources" in labels


async def test_completion_data_set_names(client: LanguageClient):
    labels = await _complete(client, APP, "      - raw", len("      - "))
    assert "raw" in labels and "fetch" not in labels


async def test_completion_data_set_name_on_empty_item(client: LanguageClient, ws):
    text = "project: scratch8\ndataSets:\n  - name: raw\n    path: x\ntasks:\n  - name: a\n    dataSets:\n      - \n"
    doc = await _scratch(client, ws, "scratch8", text)
    labels = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=7, character=8), doc)
    ]
    assert "raw" in labels


async def test_completion_resource_names_and_units(client: LanguageClient, ws):
    text = "project: scratch6\ntasks:\n  - name: a\n    resources:\n      cpu: 1\n      \n      memory: 4\n"
    doc = await _scratch(client, ws, "scratch6", text)
    names = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=5, character=6), doc)
    ]
    assert {"storage", "nvidia.com/gpu"} <= set(names)
    assert "cpu" not in names and "memory" not in names  # already in this mapping
    units = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=6, character=15), doc)
    ]
    assert {"4Gi", "4Mi", "4G"} <= set(units)


async def test_completion_enum_and_python_versions(client: LanguageClient, ws):
    text = (
        "project: scratch7\ntasks:\n  - name: a\n    executor: !pip\n      pythonVersion: \n"
        "models:\n  - name: m\n    deployment:\n      serving: \n"
    )
    doc = await _scratch(client, ws, "scratch7", text)
    versions = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=4, character=21), doc)
    ]
    import sys

    assert f"{sys.version_info.major}.{sys.version_info.minor}" in versions
    serving = [
        i.label
        for i in await _completion_items(client, text, types.Position(line=8, character=15), doc)
    ]
    assert set(serving) == {"mlflow", "mlserver", "kserve", "triton"}


async def test_completion_inside_flow_mappings(client: LanguageClient, ws):
    """`{...}` and `[...]`: keys not yet written, values, tags and names, inserted in flow style."""
    text = (
        "project: scratch9\n"
        "dataSets:\n  - {name: raw, path: x}\n"
        "tasks:\n"
        "  - {name: a, }\n"
        "  - name: b\n"
        "    executor: !pip {command: python b.py, }\n"
        "    resources: {cpu: 1, memory: 4}\n"
        "    dataSets: [raw, ]\n"
        "  - {name: c, executor: !}\n"
        "  - {name: p, pipeline: [{taskRef: }]}\n"
    )
    doc = await _scratch(client, ws, "scratch9", text)

    async def at(needle: str, offset: int) -> list[types.CompletionItem]:
        return await _completion_items(client, text, pos(text, needle, offset), doc)

    task_keys = await at("{name: a, }", len("{name: a, "))
    labels = [i.label for i in task_keys]
    assert "executor" in labels and "resources" in labels and "name" not in labels
    resources = next(i for i in task_keys if i.label == "resources")
    assert "\n" not in resources.text_edit.new_text  # one line, flow style
    assert resources.text_edit.new_text.startswith("resources: {")

    pip_keys = [i.label for i in await at("python b.py, }", len("python b.py, "))]
    assert "pythonVersion" in pip_keys and "command" not in pip_keys

    units = [i.label for i in await at("memory: 4}", len("memory: 4"))]
    assert {"4Gi", "4Mi"} <= set(units)

    names = [i.label for i in await at("[raw, ]", len("[raw, "))]
    assert "raw" in names

    tags = await at("executor: !}", len("executor: !"))
    pip = next(i for i in tags if i.label == "!pip")
    assert pip.text_edit.new_text.startswith("!pip {") and "\n" not in pip.text_edit.new_text
    assert not any("map spelling" in i.label for i in tags)

    refs = [i.label for i in await at("{taskRef: }", len("{taskRef: "))]
    assert {"a", "b", "c"} <= set(refs)


# --- hover ------------------------------------------------------------------------------------


async def _hover(client: LanguageClient, text: str, needle: str, offset: int = 0) -> str:
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=_td(client), position=pos(text, needle, offset))
    )
    assert hover is not None, f"no hover at {needle!r}"
    return hover.contents.value


async def test_hover_key_documentation(client: LanguageClient):
    text = await _hover(client, APP, "fromTemplate: small", 2)
    assert "fromTemplate" in text and "Template this task starts from" in text


async def test_hover_reference_preview_other_file(client: LanguageClient):
    text = await _hover(client, APP, "shared_templates.xgboost_resources", 20)
    assert "template shared_templates.xgboost_resources" in text
    assert "memory: 16Gi" in text


async def test_hover_merged_task_with_origins(client: LanguageClient):
    text = await _hover(client, APP, "name: train", 7)
    assert "resources.cpu" in text and "`4`" in text
    assert "template shared_templates.xgboost_resources" in text
    assert "task app.train" in text  # the executor comes from the task itself


async def test_hover_cron(client: LanguageClient):
    text = await _hover(client, APP, '"0 2 * * *"', 2)
    assert "02:00" in text and "Next runs" in text


# --- navigation -------------------------------------------------------------------------------


async def test_definition_in_other_file(client: LanguageClient, ws):
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=_td(client), position=pos(APP, "shared_templates.prepare", 18)
        )
    )
    assert result and result[0].uri == uri(ws["shared"])
    assert result[0].range.start == pos(SHARED, "prepare")


async def test_definition_same_file(client: LanguageClient):
    result = await client.text_document_definition_async(
        types.DefinitionParams(text_document=_td(client), position=pos(APP, "taskRef: train", 10))
    )
    assert result and result[0].range.start == pos(APP, "name: train", 6)


async def test_references_across_files(client: LanguageClient, ws):
    shared_uri = open_doc(client, ws["shared"])
    await wait_for_publish(client, shared_uri)
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=shared_uri),
            position=pos(SHARED, "prepare"),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert result is not None
    where = sorted((loc.uri, loc.range.start.line) for loc in result)
    assert (uri(ws["shared"]), pos(SHARED, "prepare").line) in where
    assert (client.app_uri, pos(APP, "shared_templates.prepare").line) in where  # type: ignore[attr-defined]


async def test_rename_across_files(client: LanguageClient, ws):
    shared_uri = uri(ws["shared"])
    position = pos(SHARED, "xgboost_resources")
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(
            text_document=types.TextDocumentIdentifier(uri=shared_uri), position=position
        )
    )
    assert prepared is not None and prepared.placeholder == "xgboost_resources"
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri=shared_uri),
            position=position,
            new_name="gpu_box",
        )
    )
    assert edit is not None and edit.changes is not None
    assert {shared_uri, client.app_uri} <= set(edit.changes)  # type: ignore[attr-defined]
    app_edit = edit.changes[client.app_uri][0]  # type: ignore[attr-defined]
    # only the name after `shared_templates.` changes
    assert app_edit.range.start == pos(APP, "xgboost_resources") and app_edit.new_text == "gpu_box"


async def test_rename_rejects_invalid_name(client: LanguageClient):
    with pytest.raises(Exception, match="not a valid name"):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=_td(client), position=pos(APP, "name: fetch", 7), new_name="a.b"
            )
        )


# --- symbols ----------------------------------------------------------------------------------


async def test_document_symbols_outline(client: LanguageClient):
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=_td(client))
    )
    assert symbols is not None
    sections = {s.name: s for s in symbols}
    assert set(sections) == {"tasks", "templates", "models", "dataSets"}
    tasks = {s.name: s for s in sections["tasks"].children}
    assert set(tasks) == {"fetch", "train", "flow"}
    steps = [s.name for s in tasks["flow"].children]
    assert steps[0] == "→ fetch" and steps[1].startswith("parallel")
    assert [s.name for s in tasks["flow"].children[1].children] == [
        "→ train",
        "→ shared_templates.prepare",
    ]


async def test_workspace_symbols(client: LanguageClient, ws):
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="xgb"))
    assert symbols is not None
    assert any(
        s.name == "xgboost_resources" and s.location.uri == uri(ws["shared"]) for s in symbols
    )


# --- inlay hints, semantic tokens, folding ------------------------------------------------------


async def test_inlay_hints(client: LanguageClient):
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=_td(client),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=60, character=0)
            ),
        )
    )
    assert hints is not None
    labels = {h.position.line: h.label for h in hints}
    assert "cpu: 4" in labels[pos(APP, "shared_templates.xgboost_resources").line]
    assert "memory: 1Gi" in labels[pos(APP, "fromTemplate: small").line]
    assert "02:00" in labels[pos(APP, '"0 2 * * *"').line]


async def test_semantic_tokens(client: LanguageClient):
    result = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=_td(client))
    )
    assert result is not None
    data = result.data
    decoded = []
    line = col = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i : i + 5]
        line = line + dl
        col = dc if dl else col + dc
        decoded.append((line, col, length, kind, mods))
    lines = APP.split("\n")
    words = {(lines[ln][c : c + n], k) for ln, c, n, k, _ in decoded}
    assert ("!pip", 0) in words  # tag
    assert ("fetch", 1) in words  # task reference / declaration
    assert ("small", 2) in words  # template reference
    assert ("shared_templates", 5) in words  # project prefix
    assert ("10G", 4) in words  # quantity
    assert ("raw", 3) in words  # data set


async def test_folding_ranges(client: LanguageClient):
    result = await client.text_document_folding_range_async(
        types.FoldingRangeParams(text_document=_td(client))
    )
    assert result is not None
    spans = {(r.start_line, r.end_line) for r in result}
    start = pos(APP, "  - name: train").line
    assert any(s == start and e > start + 5 for s, e in spans)
