"""What provider requests tell the tracing: provider and an endpoint without ids in it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.providers._http import Connection, endpoint_label


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/v1/images/generations", "/v1/images/generations"),
        ("/v1/images/generations/task_01J9ZX8Q", "/v1/images/generations/{id}"),
        ("/v1/images/generations/easel-0123abcd?x=1", "/v1/images/generations/{id}"),
        ("/v1/uploads/images", "/v1/uploads/images"),
        ("/v1/models", "/v1/models"),
        ("/v1/files/Sunset.PNG", "/v1/files/{id}"),
    ],
)
def test_endpoint_labels_keep_the_route_and_drop_ids(path: str, label: str) -> None:
    assert endpoint_label(path) == label


def test_a_request_off_the_api_host_is_a_download() -> None:
    http = Connection(
        "https://api.example/v1/",
        SecretStr("k"),
        provider="starrise",
        service="Starrise",
        refusal="no.",
    )

    task = http.trace_context(http.url("/v1/images/generations/abc123"))
    cdn = http.trace_context("https://cdn.example/abc123.png", auth=False)

    assert task == {"provider": "starrise", "endpoint": "/v1/images/generations/{id}"}
    assert cdn == {"provider": "starrise", "endpoint": "download"}
