"""What every test session shares: no project MLflow server outlives it.

A project's server is detached by design (it lives until `ame mlflow stop`), so a test that
starts one through the console or the CLI leaves it running; the suite stops them all at its
end, wherever under the session's temporary folders they were started.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _no_project_server_outlives_the_session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    yield
    from ame_core import tracking_server

    tracking_server.stop_all_under(tmp_path_factory.getbasetemp(), depth=4)
