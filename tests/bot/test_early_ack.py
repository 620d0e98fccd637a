"""Under a burst, job commands are acknowledged from their gateway payload, then handed to
discord.py once the burst is acknowledged (``bot.early_ack``)."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from bot.ack_gate import AckGate
from bot.early_ack import EarlyAcknowledger, is_job_command


def payload(interaction_id: int, name: str = "imagine", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(interaction_id),
        "token": f"token-{interaction_id}",
        "type": 2,
        "guild_id": "42",
        "data": {"type": 1, "name": name},
    }
    data.update(extra)
    return data


@pytest.mark.parametrize("name", ["imagine", "edit", "blend"])
def test_a_job_slash_command_in_a_server_is_a_job_command(name: str) -> None:
    assert is_job_command(payload(1, name))


@pytest.mark.parametrize(
    "data",
    [
        payload(1, "jobs"),  # not a job command
        payload(1, guild_id=None),  # a direct message
        payload(1, type=4),  # autocomplete answers differently
        {**payload(1), "data": {"type": 3, "name": "imagine"}},  # a message command
        {"id": "1", "type": 3, "guild_id": "42", "data": {"custom_id": "x"}},  # a button
    ],
)
def test_other_interactions_are_not_job_commands(data: dict[str, Any]) -> None:
    assert not is_job_command(data)


class Recording(EarlyAcknowledger):
    """Records the defers instead of sending them (the end-to-end tests send them for real)."""

    def __init__(self, gate: AckGate, answer: asyncio.Event, *, not_found: int | None = None):
        super().__init__(discord.Client(intents=discord.Intents.none()), gate)
        self.answer = answer
        self.not_found = not_found
        self.deferred: list[int] = []
        self.enable()

    async def _defer_privately(self, interaction_id: int, token: str) -> bool:
        assert token == f"token-{interaction_id}"
        self.deferred.append(interaction_id)
        await self.answer.wait()
        if interaction_id == self.not_found:
            raise discord.NotFound(_Response(), {"code": 10062, "message": "Unknown interaction"})
        return True


class _Response:
    status = 404
    reason = "Not Found"


async def test_below_the_burst_a_job_command_goes_to_discord_py_at_once() -> None:
    gate = AckGate(burst=3)
    acks = Recording(gate, asyncio.Event())
    parsed: list[int] = []
    for i in (1, 2, 3):
        acks.arrived(payload(i), lambda data: parsed.append(int(data["id"])))
    assert parsed == [1, 2, 3]
    assert acks.deferred == []
    assert gate.pending == 3  # each awaits its acknowledgement until the command answers


async def test_in_a_burst_job_commands_are_acknowledged_first_and_parsed_once_all_are() -> None:
    gate = AckGate(burst=2, settle=0)
    answer = asyncio.Event()
    acks = Recording(gate, answer)
    parsed: list[int] = []
    for i in range(1, 6):
        acks.arrived(payload(i), lambda data: parsed.append(int(data["id"])))
    acks.arrived(payload(9, "jobs"), lambda data: parsed.append(int(data["id"])))
    await asyncio.sleep(0.01)
    assert parsed == [1, 2, 9], "the first two and any other command go straight through"
    assert acks.deferred == [3, 4, 5]
    answer.set()
    await asyncio.sleep(0.01)
    assert parsed == [1, 2, 9], "still waiting for the first two's acknowledgements"
    gate.answered(1)
    gate.answered(2)
    await asyncio.sleep(0.01)
    assert sorted(parsed) == [1, 2, 3, 4, 5, 9]
    assert [acks.take(i) for i in (1, 3, 3)] == [False, True, False]  # taken once


async def test_an_interaction_discord_forgot_is_not_run() -> None:
    gate = AckGate(burst=1, settle=0)
    answer = asyncio.Event()
    acks = Recording(gate, answer, not_found=2)
    parsed: list[int] = []
    for i in (1, 2):
        acks.arrived(payload(i), lambda data: parsed.append(int(data["id"])))
    answer.set()
    gate.answered(1)
    await asyncio.sleep(0.01)
    assert parsed == [1]
    assert gate.pending == 0
    assert not acks.take(2)


async def test_shutdown_hands_waiting_commands_to_discord_py_at_once() -> None:
    gate = AckGate(burst=1, max_wait=30, settle=0)
    answer = asyncio.Event()
    answer.set()
    acks = Recording(gate, answer)
    parsed: list[int] = []
    for i in (1, 2):
        acks.arrived(payload(i), lambda data: parsed.append(int(data["id"])))
    await asyncio.sleep(0.01)
    assert parsed == [1]  # 2 waits for 1's acknowledgement
    acks.disable()
    await asyncio.sleep(0.01)
    assert parsed == [1, 2]
    acks.arrived(payload(3), lambda data: parsed.append(int(data["id"])))
    assert parsed == [1, 2, 3], "no early acknowledgement once shutting down"
    assert acks.deferred == [2]


async def test_it_takes_over_discord_pys_interaction_parser() -> None:
    gate = AckGate(burst=1)
    acks = Recording(gate, asyncio.Event())
    seen: list[Any] = []
    parsers: dict[str, Any] = {"INTERACTION_CREATE": seen.append, "READY": print}
    acks.install(parsers)
    parsers["INTERACTION_CREATE"](payload(1))
    assert seen == [payload(1)]
    assert parsers["READY"] is print


async def test_nothing_is_acknowledged_early_unless_something_adopts_it() -> None:
    gate = AckGate(burst=1)
    acks = Recording(gate, asyncio.Event())
    acks.disable()
    parsed: list[int] = []
    for i in (1, 2, 3):
        acks.arrived(payload(i), lambda data: parsed.append(int(data["id"])))
    assert parsed == [1, 2, 3]
    assert acks.deferred == []
