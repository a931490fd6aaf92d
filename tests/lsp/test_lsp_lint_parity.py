"""One engine of truth: for every file of the test corpus, the language server gives exactly the
diagnostics `ame lint` gives (code, severity, message, range), AME402 included.

The corpus, copied into one workspace (each file in its own directory, with the files beside it,
since some checks look there): the examples, the runtime test project, every file of the
compatibility corpus (all eras, errors and all), both ame.yml and ame.yaml in one directory, and
a syntax error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsp_support import SERVER_COMMAND, init_params, make_client, open_doc, wait_for_publish
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

REPO = Path(__file__).resolve().parents[2]
COMPAT = REPO.parent / "shared" / "compat" / "upstream"
AME = Path(sys.executable).with_name("ame")

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _corpus(root: Path) -> list[Path]:
    files: list[Path] = []
    for example in sorted((REPO / "examples").glob("*/ame.yml")):
        shutil.copytree(example.parent, root / example.parent.name)
        files.append(root / example.parent.name / "ame.yml")
    shutil.copytree(REPO / "tests" / "runtime" / "project", root / "runtime-project")
    files.append(root / "runtime-project" / "ame.yml")
    for upstream in sorted(COMPAT.glob("*.yaml")):  # absent beside a bare clone
        (root / upstream.stem).mkdir()
        files.append(root / upstream.stem / "ame.yaml")
        shutil.copy(upstream, files[-1])
    both = root / "both"
    both.mkdir()
    (both / "ame.yml").write_text("project: both_a\n")
    (both / "ame.yaml").write_text("project: both_b\n")
    files += [both / "ame.yml", both / "ame.yaml"]
    (root / "syntax").mkdir()
    (root / "syntax" / "ame.yml").write_text('project: s\ntasks:\n  - name: "open\n')
    files.append(root / "syntax" / "ame.yml")
    return files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("parity")
    return root, _corpus(root)


@pytest.fixture(scope="module")
def lint_records(corpus: tuple[Path, list[Path]]) -> dict[str, list[tuple]]:
    root, _ = corpus
    proc = subprocess.run(
        [str(AME), "lint", "--format", "json", "--workspace", str(root), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert proc.returncode in (0, 1), proc.stderr
    by_file: dict[str, list[tuple]] = {}
    for r in json.loads(proc.stdout):
        key = str((root / r["file"]).resolve())
        by_file.setdefault(key, []).append(
            (r["line"], r["column"], r["endLine"], r["endColumn"], r["severity"], r["code"])
            + (r["message"],)
        )
    return by_file


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    scope="module",
)
async def client(lsp_client: LanguageClient, corpus: tuple[Path, list[Path]]):
    root, _ = corpus
    # UTF-32 columns: code points, as `ame lint` counts them.
    await lsp_client.initialize_session(init_params(root, encodings=["utf-32"]))
    yield
    await lsp_client.shutdown_session()


_SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}


async def test_the_server_gives_what_ame_lint_gives(
    client: LanguageClient, corpus: tuple[Path, list[Path]], lint_records: dict[str, list[tuple]]
):
    root, files = corpus
    assert any(r[5] == "AME402" for rs in lint_records.values() for r in rs)
    mismatches = []
    for path in files:
        doc = open_doc(client, path)
        published = await wait_for_publish(client, doc)
        ours = sorted(
            (
                d.range.start.line + 1,
                d.range.start.character + 1,
                d.range.end.line + 1,
                d.range.end.character + 1,
                _SEVERITY[int(d.severity or 1)],
                str(d.code),
                d.message,
            )
            for d in published.diagnostics
        )
        theirs = sorted(lint_records.get(str(path.resolve()), []))
        if ours != theirs:
            mismatches.append((str(path.relative_to(root)), ours, theirs))
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=doc))
        )
    assert mismatches == [], mismatches
