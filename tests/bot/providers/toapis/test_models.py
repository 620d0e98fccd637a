"""The ToAPIs body models accept every documented (and inconsistent) shape."""

from __future__ import annotations

import pytest

from bot.providers._bodies import ModelList
from bot.providers.toapis.models import (
    BalanceResponse,
    ErrorEnvelope,
    GenerationRequest,
    TaskObject,
    UploadResponse,
)

COMPLETED_EXAMPLE = {
    "id": "img_5b8b",
    "object": "generation.task",
    "model": "gemini-3-pro-image-preview",
    "status": "completed",
    "progress": 100,
    "created_at": 1768381010,
    "completed_at": 1768381063,
    "expires_at": 1768467463,
    "result": {
        "type": "image",
        "data": [{"url": "https://files.toapis.com/generated/1768381061_c55c1bbb.jpg"}],
    },
}


def test_documented_completed_example_parses_with_result_url() -> None:
    """The status page's completed example yields its one result URL and timestamps."""
    task = TaskObject.model_validate(COMPLETED_EXAMPLE)
    assert task.status == "completed"
    assert task.expires_at == 1768467463
    assert task.result_urls() == ("https://files.toapis.com/generated/1768381061_c55c1bbb.jpg",)


def test_result_urls_merge_result_data_and_top_level_url_without_duplicates() -> None:
    """Both URL locations are read, the shared URL appears once, and order is kept."""
    task = TaskObject.model_validate(
        {
            "id": "t",
            "status": "completed",
            "url": "https://x/1.png",
            "result": {"data": [{"url": "https://x/1.png"}, {"url": "https://x/2.png"}, {}]},
        }
    )
    assert task.result_urls() == ("https://x/1.png", "https://x/2.png")


def test_result_urls_from_top_level_url_only() -> None:
    """A task with only the top-level ``url`` still yields it."""
    task = TaskObject.model_validate({"id": "t", "status": "completed", "url": "https://x/a.png"})
    assert task.result_urls() == ("https://x/a.png",)


def test_result_urls_empty_when_task_has_none() -> None:
    """A running task has no result URLs."""
    assert TaskObject.model_validate({"id": "t", "status": "queued"}).result_urls() == ()


def test_failed_example_keeps_error_code_and_message() -> None:
    """The documented failed example exposes its string code and message."""
    task = TaskObject.model_validate(
        {
            "id": "img_73c4",
            "object": "generation.task",
            "status": "failed",
            "progress": 0,
            "created_at": 1768215312,
            "error": {
                "code": "generation_failed",
                "message": "call upstream API failed: upstream returned status 422",
            },
        }
    )
    assert task.error_code == "generation_failed"
    assert task.error_message == "call upstream API failed: upstream returned status 422"


def test_legacy_fail_reason_is_the_message_when_error_is_missing() -> None:
    """Older bodies carry ``fail_reason`` instead of ``error.message``."""
    task = TaskObject.model_validate({"id": "t", "status": "failed", "fail_reason": "boom"})
    assert task.error_message == "boom"
    assert task.error_code is None


def test_bare_string_error_becomes_the_message() -> None:
    """``"error": "text"`` from a gateway is read as a message, not a validation failure."""
    task = TaskObject.model_validate({"id": "t", "status": "failed", "error": "upstream down"})
    assert task.error_message == "upstream down"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(50, 50), ("100%", 100), ("42", 42), (150, 100), (-3, 0), (None, 0), ("soon", 0), (33.9, 33)],
)
def test_progress_is_an_int_between_0_and_100(raw: object, expected: int) -> None:
    """Progress arrives as ints, floats or "100%" strings and is clamped to 0..100."""
    assert TaskObject.model_validate({"id": "t", "progress": raw}).progress == expected


def test_status_is_lowercased_and_defaults_to_queued() -> None:
    """Statuses compare lower-case; a missing one means the task is still queued."""
    assert TaskObject.model_validate({"id": "t", "status": "IN_PROGRESS"}).status == "in_progress"
    assert TaskObject.model_validate({"id": "t"}).status == "queued"


def test_task_id_field_is_accepted_as_id() -> None:
    """Some examples say ``task_id``; it fills ``id``."""
    assert TaskObject.model_validate({"task_id": "tsk_1"}).id == "tsk_1"


def test_unknown_fields_are_ignored() -> None:
    """New upstream fields never break parsing."""
    task = TaskObject.model_validate({"id": "t", "brand_new": {"x": 1}, "created_at": "1700000000"})
    assert task.created_at == 1700000000


def test_task_dump_uses_object_key() -> None:
    """Dumping by alias produces the documented ``object`` key (the sandbox relies on it)."""
    dumped = TaskObject(id="t", object="generation.task").model_dump(by_alias=True)
    assert dumped["object"] == "generation.task"


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        (
            {"error": {"code": 404, "message": "Task not found", "type": "x"}},
            "404",
            "Task not found",
        ),
        (
            {"error": {"code": "rate_limit_exceeded", "message": "slow"}},
            "rate_limit_exceeded",
            "slow",
        ),
        (
            {"success": False, "message": "Image too large. Maximum size is 10MB"},
            None,
            "Image too large. Maximum size is 10MB",
        ),
    ],
)
def test_error_envelope_reads_numeric_string_and_upload_shapes(
    body: dict[str, object], code: str | None, text: str
) -> None:
    """Error codes become strings; the upload's top-level ``message`` is the text there."""
    envelope = ErrorEnvelope.model_validate(body)
    assert envelope.code == code
    assert envelope.text == text


def test_upload_response_documented_example_parses() -> None:
    """The upload page's example yields ``data.url``."""
    body = UploadResponse.model_validate(
        {
            "success": True,
            "message": "",
            "data": {
                "id": "upload_abc12345",
                "url": "https://files.toapis.com/uploads/123/1737568800_abc12345.jpg",
                "mime_type": "image/jpeg",
                "size": 89234,
            },
        }
    )
    assert body.data is not None
    assert body.data.url.endswith("abc12345.jpg")


@pytest.mark.parametrize(
    ("body", "unlimited"),
    [
        ({"success": True, "remain_balance": -1}, True),
        ({"success": True, "remain_balance": 3.5, "unlimited_quota": True}, True),
        ({"success": True, "remain_balance": 3.5, "unlimited_quota": False}, False),
    ],
)
def test_balance_is_unlimited_at_minus_one_or_when_flagged(
    body: dict[str, object], unlimited: bool
) -> None:
    """``remain_balance == -1`` or ``unlimited_quota`` both mean no cap."""
    assert BalanceResponse.model_validate(body).unlimited is unlimited


def test_model_list_reads_ids() -> None:
    """The OpenAI-style model list yields its ids."""
    body = ModelList.model_validate({"object": "list", "data": [{"id": "gpt-image-2", "x": 1}]})
    assert [entry.id for entry in body.data] == ["gpt-image-2"]


def test_generation_request_dump_leaves_out_unset_fields() -> None:
    """Only the fields that were set are sent."""
    body = GenerationRequest(model="gpt-image-2", prompt="cat", n=1)
    assert body.model_dump(exclude_none=True) == {"model": "gpt-image-2", "prompt": "cat", "n": 1}


def test_generation_request_references_include_image_urls_alias() -> None:
    """``image_urls`` is the documented alias of ``reference_images``."""
    body = GenerationRequest.model_validate(
        {"model": "m", "prompt": "p", "reference_images": ["a"], "image_urls": ["b"]}
    )
    assert body.references() == ["a", "b"]
