"""A burst of job commands: the first few may be checked then answered publicly, the rest are
acknowledged privately at once and checked afterwards (``cogs.burst``); every accepted job still
gets its public message and its images, and a refusal in the burst stays private."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.early_ack import BURST, CONNECTIONS
from bot.sandbox.server import Sandbox
from local_discord import LocalDiscord
from tests.e2e.conftest import final_embed, is_final, start_bot, stop_and_check

pytestmark = pytest.mark.e2e

DEFERRED = 5
EPHEMERAL = 1 << 6
JOBS = BURST + 6


async def test_a_burst_is_acknowledged_first_and_every_job_still_goes_public(
    tmp_path: Path,
) -> None:
    async with LocalDiscord() as ld, Sandbox(task_duration=1.0) as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path)
        # Discord is slow to answer the defers, so they stay in flight together: a burst.
        ld.callback_answer_delay = 1.0
        members = await ld.add_users(JOBS + 1, prefix="crowd")
        sends = [
            ld.send_slash_command(member, "#general", "imagine", {"prompt": f"harbour {i}"})
            for i, member in enumerate(members[:JOBS])
        ]
        # The last one breaks /imagine's declaration (n is 1-10): refused, privately.
        sends.append(
            ld.send_slash_command(
                members[JOBS], "#general", "imagine", {"prompt": "x", "n": 0}, validate=False
            )
        )
        handles = list(await asyncio.gather(*sends))
        acks = [await handle.wait_for_callback(timeout=3) for handle in handles]
        ld.callback_answer_delay = 0

        assert all(ack.type == DEFERRED for ack in acks)
        private = [
            h
            for h, ack in zip(handles, acks, strict=True)
            if (ack.data or {}).get("flags", 0) & EPHEMERAL
        ]
        # The first few are answered as usual unless the whole burst is already waiting when
        # their checks run (a busy process reads every event first); the rest always privately.
        assert len(private) >= JOBS - BURST, "from the BURST-th waiting one on: privately"
        assert handles[-1] in private

        accepted = handles[:JOBS]
        finals = await asyncio.gather(
            *(h.wait_for_public_message(is_final, timeout=60) for h in accepted)
        )
        for i, (handle, final) in enumerate(zip(accepted, finals, strict=True)):
            assert final_embed(final)["title"] == "✅ 1 image ready", final_embed(final)
            assert f"harbour {i}" in final_embed(final)["description"]
            assert not final.ephemeral
            if handle in private:  # its private "thinking…" gave way to the public message
                assert handle.original is None or handle.original.deleted
        refused = handles[-1]
        await refused.wait_for(
            lambda h: "Nothing was run" in str([m.payload() for m in h.messages]), 10
        )
        assert all(m.ephemeral for m in refused.messages if not m.deleted)
        assert refused.public_message is None
        assert sandbox.count("submit") == JOBS  # the refused one cost nothing
        # Most of the burst was acknowledged from the gateway, before discord.py built it.
        assert "job command(s) acknowledged as they arrived" in bot.stderr()
        await stop_and_check(bot)


async def test_a_bursts_early_defers_share_a_bounded_pool_of_connections(tmp_path: Path) -> None:
    """A hundred defers in flight would otherwise open a hundred connections (handshakes that
    cost more than the defers); the pool reuses at most ``CONNECTIONS``, and every member is
    still acknowledged in time."""
    jobs = BURST + CONNECTIONS + 12
    async with LocalDiscord() as ld, Sandbox(task_duration=0.5) as sandbox:
        bot = await start_bot(ld, sandbox, tmp_path)
        ld.callback_answer_delay = 0.3  # every connection stays busy for a while
        members = await ld.add_users(jobs, prefix="pool")
        handles = list(
            await asyncio.gather(
                *(
                    ld.send_slash_command(member, "#general", "imagine", {"prompt": f"dune {i}"})
                    for i, member in enumerate(members)
                )
            )
        )
        acks = [await handle.wait_for_callback(timeout=3) for handle in handles]
        ld.callback_answer_delay = 0
        assert all(ack.type == DEFERRED for ack in acks)
        assert all(h.ack_latency is not None and h.ack_latency < 3 for h in handles)
        finals = await asyncio.gather(
            *(h.wait_for_public_message(is_final, timeout=90) for h in handles)
        )
        assert all(final_embed(f)["title"] == "✅ 1 image ready" for f in finals)
        # The connections the private defers came on (requests are logged once answered). The
        # burst's first few defer through discord.py's own pool; the rest share the early pool.
        early = {
            record.peer
            for record in ld.requests
            if record.route == "/interactions/{interaction_id}/{token}/callback"
            and ((record.json or {}).get("data") or {}).get("flags", 0) & EPHEMERAL
        }
        assert len(early) <= CONNECTIONS + BURST, early
        await stop_and_check(bot)
