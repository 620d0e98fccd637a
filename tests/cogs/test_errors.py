"""One error handler: Easel's errors become private answers; bugs are logged with a reference."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from discord import app_commands

from bot.errors import InputError, InternalError, PolicyRefusal, TaskFailedError
from bot.i18n import Lang, literal
from cogs._answers import Refused, member_message
from tests.cogs.conftest import Harness
from tests.cogs.test_buttons import finished_job, message_of
from tests.support.discord_harness import (
    RecordedCall,
    component_payload,
    dispatch,
    slash_command_payload,
)

EPHEMERAL = 64
ENGLISH = Lang.of("en-US")


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (InputError("Attach a PNG."), "⚠️ Attach a PNG."),
        (PolicyRefusal("**Cooldown.** Wait.", rule="cooldown"), "🚫 **Cooldown.** Wait."),
        (TaskFailedError("The service failed.", provider="toapis"), "⚠️ The service failed."),
        (Refused(literal("🚫 Only admins.")), "🚫 Only admins."),
    ],
)
def test_easels_errors_become_the_members_message(error: Exception, text: str) -> None:
    assert member_message(error, ENGLISH) == text


def test_a_commands_wrapped_error_is_unwrapped() -> None:
    command = app_commands.Command(name="x", description="x", callback=_noop)
    wrapped = app_commands.CommandInvokeError(command, InputError("Too long."))
    assert member_message(wrapped, ENGLISH) == "⚠️ Too long."


@pytest.mark.parametrize("error", [RuntimeError("boom"), InternalError("bug"), KeyError("k")])
def test_anything_else_is_a_bug(error: Exception) -> None:
    assert member_message(error, ENGLISH) is None


async def _noop(interaction: Any) -> None:
    """A command callback for building a command object."""


def private_answers(calls: list[RecordedCall]) -> list[str]:
    found = []
    for call in calls:
        payload = call.payload or {}
        data = payload.get("data", payload)
        if call.flags & EPHEMERAL and data.get("content"):
            found.append(str(data["content"]))
    return found


async def answered(h: Harness, before: int) -> list[str]:
    await h.adapter.wait_for(lambda calls: bool(private_answers(calls[before:])), 10)
    await asyncio.sleep(0)
    return private_answers(h.adapter.calls[before:])


async def test_a_bug_in_a_command_is_logged_once_and_answered_with_a_reference(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.bot.engine, "validate", broken)
    payload = slash_command_payload("imagine", [{"name": "prompt", "type": 3, "value": "a fox"}])
    with caplog.at_level(logging.ERROR, logger="cogs"):
        dispatch(harness.bot, payload)
        texts = await answered(harness, 0)
    assert texts == [
        f"Something went wrong inside Easel (reference `{payload['id']}`). Please try again."
    ]
    bugs = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(bugs) == 1 and "command imagine failed" in bugs[0].getMessage()
    assert harness.sandbox.count("submit") == 0


async def test_a_buttons_input_error_is_answered_privately_like_a_commands(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, final = await finished_job(harness)

    def refuse(request: Any) -> Any:
        raise InputError("That option is not offered.")

    monkeypatch.setattr(harness.bot.engine, "validate", refuse)
    before = len(harness.adapter.calls)
    dispatch(harness.bot, component_payload(f"easel:reroll:{job_id}", message_of(final)))
    assert await answered(harness, before) == ["⚠️ That option is not offered."]


async def test_a_bug_behind_a_button_is_logged_and_answered_with_a_reference(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    job_id, final = await finished_job(harness)

    def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.bot.engine, "validate", broken)
    before = len(harness.adapter.calls)
    payload = component_payload(f"easel:reroll:{job_id}", message_of(final))
    with caplog.at_level(logging.ERROR, logger="cogs"):
        dispatch(harness.bot, payload)
        texts = await answered(harness, before)
    assert texts == [
        f"Something went wrong inside Easel (reference `{payload['id']}`). Please try again."
    ]
    assert any(f"component easel:reroll:{job_id} failed" in r.getMessage() for r in caplog.records)


async def test_unloading_the_handler_gives_the_tree_its_own_hook_back(harness: Harness) -> None:
    tree = harness.bot.tree
    assert tree.on_error.__func__ is not type(tree).on_error  # type: ignore[attr-defined]
    await harness.bot.remove_cog("ErrorHandler")
    assert tree.on_error.__func__ is type(tree).on_error  # type: ignore[attr-defined]
