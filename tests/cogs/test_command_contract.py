"""Every application command would be accepted by Discord's sync (checked offline)."""

from __future__ import annotations

import re
from typing import Any

from bot.client import EaselBot, extension_names

NAME = re.compile(r"^[-_\w]{1,32}$")


def payloads(bot: EaselBot) -> list[dict[str, Any]]:
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands()]


def option_text(option: dict[str, Any]) -> int:
    size = len(option["name"]) + len(option.get("description", ""))
    size += sum(len(c["name"]) + len(str(c["value"])) for c in option.get("choices", []))
    return size + sum(option_text(sub) for sub in option.get("options", []))


def test_every_cog_module_is_loaded(bot: EaselBot) -> None:
    assert "cogs.imagine" in extension_names()
    assert {command.name for command in bot.tree.get_commands()} >= {"imagine"}


def test_commands_fit_discords_limits(bot: EaselBot) -> None:
    for payload in payloads(bot):
        if payload.get("type", 1) == 1:
            assert NAME.match(payload["name"]), payload["name"]
        else:  # context menus: any case and spaces allowed, 1-32 characters
            assert 1 <= len(payload["name"]) <= 32, payload["name"]
        description = payload.get("description", "")
        if payload.get("type", 1) == 1:
            assert 1 <= len(description) <= 100, payload["name"]
        options = payload.get("options", [])
        assert len(options) <= 25, payload["name"]
        required_seen_optional = False
        for option in options:
            assert NAME.match(option["name"]) and option["name"] == option["name"].lower()
            assert 1 <= len(option["description"]) <= 100, option["name"]
            assert len(option.get("choices", [])) <= 25, option["name"]
            for choice in option.get("choices", []):
                assert 1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100
            if "max_length" in option:
                assert 1 <= option["max_length"] <= 6000
            if option.get("required"):
                assert not required_seen_optional, f"required {option['name']} after optional"
            else:
                required_seen_optional = True
        total = len(payload["name"]) + len(description) + sum(option_text(o) for o in options)
        assert total <= 8000, payload["name"]


def test_imagine_offers_every_ratio_and_ten_reference_images(bot: EaselBot) -> None:
    imagine = next(p for p in payloads(bot) if p["name"] == "imagine")
    by_name = {option["name"]: option for option in imagine["options"]}
    assert len(by_name["ratio"]["choices"]) == 13
    assert by_name["n"]["min_value"] == 1 and by_name["n"]["max_value"] == 10
    attachments = [o for o in imagine["options"] if o["type"] == 11]
    assert len(attachments) == 10
    assert "format" in by_name and by_name["prompt"]["required"] is True
