"""Team policies in the real language server (issue 16): the initialization option `policies`
adds policy files; the server's diagnostics are `ame lint --policy`'s (the one engine), also
after an edit re-checked item by item; hover names the rule on a value and its file;
completion leaves out values a policy's enum forbids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import SERVER_COMMAND, change, init_params, make_client, open_doc
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROJECT = """\
project: ruled
templates:
  - name: big
    resources:
      cpu: 2
      memory: 100G
tasks:
  - name: greedy
    fromTemplate: big
    executor: !custom
      command: echo greedy
  - name: bare
    executor: !custom
      command: echo bare
models:
  - name: m
    training:
      task:
        taskRef: greedy
    deployment:
      serving: mlflow
"""

POLICY = """\
properties:
  tasks:
    items:
      required: [resources]
      properties:
        resources:
          properties:
            memory:
              x-ame-maxQuantity: 64Gi
              description: a task asks for at most 64Gi of memory
  models:
    items:
      properties:
        deployment:
          properties:
            serving:
              enum: [mlflow, mlserver]
              x-ame-severity: warning
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ruled")
    (root / ".git").mkdir()
    (root / "ame.yml").write_text(PROJECT)
    (root / "rules").mkdir()
    (root / "rules" / "team.yaml").write_text(POLICY)
    return root


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    scope="module",
)
async def client(lsp_client: LanguageClient, ws: Path):
    options = {"debounceMs": 20, "policies": ["rules/team.yaml"]}
    await lsp_client.initialize_session(init_params(ws, options=options))
    lsp_client.doc_uri = open_doc(lsp_client, ws / "ame.yml")  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _pull(client: LanguageClient) -> list[types.Diagnostic]:
    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=client.doc_uri)  # type: ignore[attr-defined]
        )
    )
    return list(report.items)


def _lint(ws: Path) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "ame_cli", "lint", "--format", "json", "--policy"]
        + [str(ws / "rules" / "team.yaml"), str(ws / "ame.yml")],
        capture_output=True,
        text=True,
        cwd=ws,
        timeout=60,
    )
    return json.loads(out.stdout)


def _as_lint(d: types.Diagnostic) -> tuple:
    severity = {1: "error", 2: "warning", 3: "information", 4: "hint"}[int(d.severity or 1)]
    r = d.range
    return (
        r.start.line + 1,
        r.start.character + 1,
        r.end.line + 1,
        r.end.character + 1,
        severity,
        d.code,
        d.message,
    )


async def test_server_publishes_the_same_as_lint(client: LanguageClient, ws: Path):
    served = sorted(_as_lint(d) for d in await _pull(client) if str(d.code).startswith("AME5"))
    linted = sorted(
        (
            r["line"],
            r["column"],
            r["endLine"],
            r["endColumn"],
            r["severity"],
            r["code"],
            r["message"],
        )
        for r in _lint(ws)
        if r["code"].startswith("AME5")
    )
    assert served == linted
    assert any("task 'bare': `resources` is required" in row[-1] for row in served)


async def test_template_diagnostic_names_the_task_that_uses_it(client: LanguageClient):
    items = await _pull(client)
    (memory,) = [d for d in items if "64Gi" in d.message]
    assert memory.range.start.line == 5  # the template's `memory: 100G`
    (related,) = memory.related_information or []
    assert related.message == "task 'greedy' uses this value"
    assert related.location.uri == client.doc_uri  # type: ignore[attr-defined]
    assert related.location.range.start.line == 7  # `- name: greedy`


async def test_hover_names_the_rule_and_its_file(client: LanguageClient):
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=client.doc_uri),  # type: ignore[attr-defined]
            position=types.Position(line=5, character=15),
        )
    )
    assert hover is not None
    text = hover.contents.value  # type: ignore[union-attr]
    assert "**Team policy** `rules/team.yaml`: at most `64Gi`" in text
    assert "a task asks for at most 64Gi of memory" in text


async def test_completion_leaves_out_values_the_policy_forbids(client: LanguageClient):
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=client.doc_uri),  # type: ignore[attr-defined]
            position=types.Position(line=20, character=15),
        )
    )
    items = result.items if isinstance(result, types.CompletionList) else result or []
    assert {i.label for i in items} == {"mlflow", "mlserver"}  # not kserve, not triton


async def test_an_edit_rechecks_the_policy(client: LanguageClient, ws: Path):
    # `greedy` stops using the template: the template's line no longer breaks the rule for it.
    change(client, client.doc_uri, 2, (8, 4), (8, 21), "resources: {cpu: 1, memory: 1Gi}")  # type: ignore[attr-defined]
    items = await _pull(client)
    assert not [d for d in items if "64Gi" in d.message], [d.message for d in items]
    assert [d.message for d in items if "bare" in d.message]  # the other task's still there
