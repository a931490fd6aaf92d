"""Helix cannot be installed here (no Debian package in this release, no PyPI/npm build): its
set-up is checked as Helix reads it: languages.toml parses, names a server that exists, and
its `ame` language reaches that server for ame.yml/ame.yaml with the YAML grammar."""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

HELIX = Path(__file__).resolve().parents[1] / "editors" / "helix"


def test_languages_toml_is_what_helix_reads():
    config = tomllib.loads((HELIX / "languages.toml").read_text())
    server = config["language-server"]["ame-lsp"]
    assert server["command"] == "ame-lsp"
    assert shutil.which("ame-lsp") or Path(sys.executable).with_name("ame-lsp").exists()
    (language,) = config["language"]
    assert language["name"] == "ame" and language["grammar"] == "yaml"
    assert {"glob": "ame.yml"} in language["file-types"]
    assert {"glob": "ame.yaml"} in language["file-types"]
    assert language["language-servers"] == ["ame-lsp"]
    assert set(server["config"]) == {"debounceMs"}  # the server's initializationOptions


def test_queries_inherit_yaml():
    for name in ("highlights.scm", "indents.scm", "injections.scm"):
        text = (HELIX / "runtime" / "queries" / "ame" / name).read_text()
        assert "; inherits: yaml" in text
