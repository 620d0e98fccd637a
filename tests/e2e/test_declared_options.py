"""Every declared range, length and choice holds on the server, for every command.

Discord's clients enforce what a command declares; its API passes on whatever a modified client
sends. These tests read the commands as the bot synced them to the local Discord, send each
option a value outside its declaration (``validate=False``, as such a client would), and expect
a private refusal naming the option, nothing public in the channel, no upstream request and no
change to the server's settings.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from local_discord import LocalDiscord
from tests.e2e.conftest import Stack, public_messages

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CHANNEL_MESSAGE = 4
EPHEMERAL = 1 << 6
SUBCOMMAND, GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3, 4, 5, 6, 7, 8, 9, 10, 11,
)  # fmt: skip
ROLE_NAME = "artists"


@dataclass(frozen=True)
class Case:
    """One out-of-bounds value for one option of one command."""

    command: str
    subcommand: str | None
    option: str
    value: Any
    valid: dict[str, Any]  # the command's other required options, with valid values

    def __str__(self) -> str:
        where = f"/{self.command}" + (f" {self.subcommand}" if self.subcommand else "")
        shown = self.value if len(str(self.value)) < 20 else f"<{len(self.value)} characters>"
        return f"{where} {self.option}:{shown!r}"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def leaves(command: dict[str, Any]) -> Iterator[tuple[str | None, list[dict[str, Any]]]]:
    """(subcommand path, options) for each runnable leaf of a synced command."""
    options = command.get("options") or []
    if not any(o["type"] in (SUBCOMMAND, GROUP) for o in options):
        yield None, options
        return
    for option in options:
        if option["type"] == SUBCOMMAND:
            yield option["name"], option.get("options") or []
        elif option["type"] == GROUP:
            for sub in option.get("options") or []:
                yield f"{option['name']} {sub['name']}", sub.get("options") or []


def valid_value(option: dict[str, Any]) -> Any:
    """A value the declaration accepts."""
    if option.get("choices"):
        return option["choices"][0]["value"]
    kind = option["type"]
    if kind == STRING:
        return "a lighthouse at dusk"[: option.get("max_length", 100)]
    if kind in (INTEGER, NUMBER):
        return option.get("min_value", 1)
    return {
        BOOLEAN: True,
        USER: "alice",
        MENTIONABLE: "alice",
        CHANNEL: "#general",
        ROLE: ROLE_NAME,
        ATTACHMENT: ("picture.png", png(), "image/png"),
    }[kind]


def bad_values(option: dict[str, Any]) -> list[Any]:
    """Values outside the option's declared range, length or choices."""
    bad: list[Any] = []
    if option.get("choices"):
        bad.append(999 if option["type"] in (INTEGER, NUMBER) else "bogus")
    if "min_value" in option:
        bad.append(option["min_value"] - 1)
    if "max_value" in option:
        bad.append(option["max_value"] + 1)
    if option.get("min_length", 0) > 0:
        bad.append("")
    if option.get("min_length", 0) > 1:
        bad.append("x" * (option["min_length"] - 1))
    if "max_length" in option:
        bad.append("x" * (option["max_length"] + 1))
    return bad


def cases(ld: LocalDiscord) -> list[Case]:
    """Every out-of-bounds case of every slash command the bot synced."""
    found = []
    for command in ld.commands(None) + ld.commands(ld.guild):
        if command.get("type", 1) != 1:
            continue
        for subcommand, options in leaves(command):
            required = {o["name"]: valid_value(o) for o in options if o.get("required")}
            for option in options:
                for value in bad_values(option):
                    valid = {k: v for k, v in required.items() if k != option["name"]}
                    found.append(Case(command["name"], subcommand, option["name"], value, valid))
    return found


async def test_every_declared_range_length_and_choice_is_enforced_by_the_server(
    stack: Stack, clean_log: None
) -> None:
    ld = stack.ld
    await ld.create_role(ROLE_NAME)
    all_cases = cases(ld)
    checked = {case.option for case in all_cases}
    # The options the issue named are among them (so the enumeration found the tree).
    assert {"rule", "max_images", "days", "report", "prompt", "n", "ratio"} <= checked
    settings_before = await overview(ld)
    failures = []
    for case in all_cases:
        upstream = len(stack.sandbox.requests)
        shown = len(public_messages(ld, "#general"))
        handle = await ld.send_slash_command(
            "owner",
            "#general",
            case.command,
            {**case.valid, case.option: case.value},
            subcommand=case.subcommand,
            validate=False,
        )
        ack = await handle.wait_for_callback(timeout=5)
        text = str((ack.data or {}).get("content"))
        private = ack.data is not None and int(ack.data.get("flags") or 0) & EPHEMERAL
        if ack.type != CHANNEL_MESSAGE or not private or f"`{case.option}`" not in text:
            failures.append(f"{case}: answered {ack.type} {text!r}")
        if len(stack.sandbox.requests) != upstream:
            failures.append(f"{case}: reached the image API")
        if len(public_messages(ld, "#general")) != shown:
            failures.append(f"{case}: posted in the channel")
    assert failures == [], "\n".join(failures)
    assert await overview(ld) == settings_before, "a refused value changed a setting"


async def test_a_refusal_names_the_value_and_what_is_allowed(stack: Stack, clean_log: None) -> None:
    async def answer(command: str, options: dict[str, Any], subcommand: str | None = None) -> str:
        handle = await stack.ld.send_slash_command(
            "owner", "#general", command, options, subcommand=subcommand, validate=False
        )
        ack = await handle.wait_for_callback(timeout=5)
        return str((ack.data or {}).get("content"))

    text = await answer("easel", {"channel": "#general", "rule": "bogus"}, "channel")
    assert "`rule` must be one of: allow, deny, clear (got `bogus`)" in text
    text = await answer("easel", {"max_images": 0}, "limits")
    assert "`max_images` must be between 1 and 10 (got 0)" in text
    assert "Input should be" not in text
    assert "`days` must be between 1 and 92 (got 93)" in await answer("usage", {"days": 93})
    assert "`days` must be between 1 and 92 (got 0)" in await answer("usage", {"days": 0})
    text = await answer("usage", {"report": "everything"})
    assert "`report` must be one of: me, server (got `everything`)" in text


async def overview(ld: LocalDiscord) -> str:
    """The server's settings as ``/easel settings`` shows them."""
    handle = await ld.send_slash_command("owner", "#general", "easel", subcommand="settings")
    ack = await handle.wait_for_callback(timeout=5)
    return str((ack.data or {}).get("embeds"))
