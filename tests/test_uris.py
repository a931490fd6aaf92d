"""Credentials never survive in a URI that is shown or stored."""

from __future__ import annotations

import pytest

from ame_core.uris import redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "https://alice:s3cret@mlflow.example.com:5000/x?a=1",
            "https://mlflow.example.com:5000/x?a=1",
        ),
        ("http://token@host/p", "http://host/p"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db"),
        ("http://alice:s3cret@host:notaport/p", "http://host:notaport/p"),  # cannot be parsed
    ],
)
def test_user_info_is_removed(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_messages_drop_the_query_too() -> None:
    uri = "https://alice:pw@host:8443/api?token=abc#frag"
    assert redact_uri(uri, keep_query=False) == "https://host:8443/api"
