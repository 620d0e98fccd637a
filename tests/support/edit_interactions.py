"""Payloads for the edit flow through the real CommandTree: a member's message with images, a
message context-menu command on it, and the submit of a modal Easel showed (labels, selects).

Shapes follow Discord's docs for INTERACTION_CREATE (types 2/3 data, type 5 modal submit) and match
what ``local_discord`` sends in the end-to-end tests.
"""

from __future__ import annotations

from typing import Any

from tests.support.discord_harness import (
    USER_ID,
    RecordedCall,
    message_object,
    slash_command_payload,
    snowflake,
    user_payload,
)


def member_message(
    attachments: list[tuple[str, str, int, str]],
    *,
    author_id: int = USER_ID,
    bot: bool = False,
    message_id: int | None = None,
) -> dict[str, Any]:
    """A message in the test channel with ``(filename, url, size, content_type)`` attachments."""
    return message_object(
        message_id or snowflake(),
        user_payload(author_id, "Easel" if bot else f"member{author_id % 1000}", bot=bot),
        [
            {
                "id": str(snowflake()),
                "filename": name,
                "size": size,
                "url": url,
                "proxy_url": url,
                "content_type": content_type,
            }
            for name, url, size, content_type in attachments
        ],
    )


def message_command_payload(
    name: str, message: dict[str, Any], *, user_id: int = USER_ID
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a message context-menu command used on ``message``."""
    payload = slash_command_payload(name, [], user_id=user_id)
    payload["data"] = {
        "id": str(snowflake()),
        "name": name,
        "type": 3,
        "target_id": message["id"],
        "resolved": {"messages": {message["id"]: message}},
    }
    return payload


def shown_modal(calls: list[RecordedCall]) -> dict[str, Any]:
    """The last modal Easel answered with (the ``data`` of a type-9 callback)."""
    for call in reversed(calls):
        if call.is_callback and call.payload and call.payload.get("type") == 9:
            data: dict[str, Any] = call.payload["data"]
            return data
    raise AssertionError("no modal was shown")


def modal_inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input of a modal by custom id (labels and action rows unwrapped)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(component: dict[str, Any]) -> None:
        if component.get("type") == 1:
            for child in component.get("components", []):
                walk(child)
        elif component.get("type") == 18:
            walk(component["component"])
        elif "custom_id" in component:
            found[component["custom_id"]] = component

    for component in modal.get("components", []):
        walk(component)
    return found


def modal_submit_payload(
    modal: dict[str, Any], values: dict[str, str | list[str]], *, user_id: int = USER_ID
) -> dict[str, Any]:
    """The INTERACTION_CREATE Discord sends when the member submits ``modal`` with ``values``.

    Text inputs take a string; selects take a list of option values (missing ones submit none).
    """
    values = dict(values)

    def answer(component: dict[str, Any]) -> dict[str, Any]:
        kind = component.get("type")
        if kind == 1:
            return {"type": 1, "components": [answer(c) for c in component["components"]]}
        if kind == 18:
            return {"type": 18, "component": answer(component["component"])}
        custom_id = component["custom_id"]
        if kind == 4:
            return {"type": 4, "custom_id": custom_id, "value": values.pop(custom_id, "")}
        chosen = values.pop(custom_id, [])
        return {"type": kind, "custom_id": custom_id, "values": list(chosen)}

    components = [answer(component) for component in modal.get("components", [])]
    assert not values, f"the modal has no inputs {sorted(values)}"
    payload = slash_command_payload("unused", [], user_id=user_id)
    payload["type"] = 5
    payload["data"] = {"custom_id": modal["custom_id"], "components": components}
    return payload
