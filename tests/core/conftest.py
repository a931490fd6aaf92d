from __future__ import annotations

import pytest

from ame_core.engine import Analysis, analyze


@pytest.fixture
def check():
    def run(text: str) -> Analysis:
        return analyze(text, "ame.yml")

    return run
