"""Each server rule allows and refuses through the real CommandTree, before any upstream spend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.jobs.models import JobRequest
from bot.jobs.records import JobRecord
from bot.options import Resolution
from bot.policy.models import ButtonAccess
from cogs._policy import place_context
from tests.cogs.conftest import Harness, moderation_log
from tests.cogs.policy_support import (
    EPHEMERAL,
    as_member,
    callbacks,
    imagine,
    in_channel,
    record_log,
    run_job,
    text_of,
)
from tests.support.discord_harness import CHANNEL_ID, GUILD_ID, USER_ID, dispatch

ALLOWED = CHANNEL_ID + 100
ROLE = 700_000_000_000_000_001


async def refusal(h: Harness, payload: dict[str, Any]) -> str:
    """Dispatch; assert the one answer is an ephemeral message and nothing went upstream."""
    upstream = len(h.sandbox.requests)
    before = len(h.adapter.calls)
    dispatch(h.bot, payload)
    await h.adapter.wait_for(lambda calls: len(callbacks(calls[before:])) >= 1)
    await asyncio.sleep(0.05)
    answer = callbacks(h.adapter.calls[before:])[0]
    assert answer.payload is not None
    assert answer.payload["type"] == 4, "a refusal is answered at once, never deferred"
    assert answer.flags & EPHEMERAL
    assert len(h.sandbox.requests) == upstream, "a refused job reached the image service"
    assert len(h.adapter.calls) == before + 1, "a refusal is one message"
    return text_of(answer)


async def accepted(h: Harness, payload: dict[str, Any]) -> None:
    """The job was deferred publicly (accepted), and it finishes."""
    final = await run_job(h, payload)
    assert final.files, text_of(final)


async def settings(h: Harness, **changes: Any) -> None:
    await h.bot.policy.update(GUILD_ID, by=1, **changes)


async def test_a_job_outside_the_allowed_channels_is_refused_with_where_to_go(
    harness: Harness,
) -> None:
    await settings(harness, allowed_channels={ALLOWED})
    text = await refusal(harness, imagine("a fox"))
    assert "Channel rules" in text and f"<#{ALLOWED}>" in text
    await accepted(harness, in_channel(imagine("a fox"), ALLOWED))


async def test_a_denied_channel_and_threads_can_be_turned_off(harness: Harness) -> None:
    await settings(harness, denied_channels={CHANNEL_ID}, threads=False)
    assert "turned off in this channel" in await refusal(harness, imagine("a fox"))
    thread = in_channel(imagine("a fox"), ALLOWED + 1, thread_of=ALLOWED)
    text = await refusal(harness, thread)
    assert "Threads" in text and f"<#{ALLOWED}>" in text


async def test_a_category_rule_covers_its_channels(harness: Harness) -> None:
    category = ALLOWED + 50
    await settings(harness, allowed_channels={category})
    await accepted(harness, in_channel(imagine("a fox"), ALLOWED + 2, category=category))


async def test_required_roles_and_banned_members(harness: Harness) -> None:
    await settings(harness, required_roles={ROLE})
    text = await refusal(harness, imagine("a fox"))
    assert "Required role" in text and f"<@&{ROLE}>" in text
    await accepted(harness, as_member(imagine("a fox"), roles=(ROLE,)))
    await accepted(harness, as_member(imagine("a fox"), admin=True))  # admins keep access
    await settings(harness, required_roles=set(), banned_members={USER_ID})
    assert "blocked you" in await refusal(harness, imagine("a fox"))


async def test_nsfw_only_servers_refuse_ordinary_channels(harness: Harness) -> None:
    await settings(harness, nsfw_only=True)
    assert "age-restricted" in await refusal(harness, imagine("a fox"))
    await accepted(harness, in_channel(imagine("a fox"), ALLOWED, nsfw=True))


async def test_commands_can_be_turned_off(harness: Harness) -> None:
    await settings(harness, commands={"edit"})
    text = await refusal(harness, imagine("a fox"))
    assert "`/imagine` is turned off" in text and "`/edit`" in text


async def test_too_many_images_or_too_big_a_tier_are_refused(harness: Harness) -> None:
    await settings(harness, max_n=2, max_resolution=Resolution.R1K)
    assert "`n:2`" in await refusal(harness, imagine("a fox", n=3))
    text = await refusal(harness, imagine("a fox", ratio="16:9", resolution="2K"))
    assert "resolution:1K" in text


async def test_the_cooldown_holds_the_next_job(harness: Harness) -> None:
    await settings(harness, cooldown_seconds=600)
    await accepted(harness, imagine("a fox"))
    text = await refusal(harness, imagine("another fox"))
    assert "Cooldown" in text and ":R>" in text


async def test_a_blocked_term_is_refused_and_only_the_log_names_it(harness: Harness) -> None:
    log = record_log(harness)
    await settings(harness, moderation_channel=555)
    await harness.bot.policy.add_term(GUILD_ID, "spooky", by=1)
    text = await refusal(harness, imagine("a SP00KY house @everyone"))
    assert "Blocked term" in text and "spooky" not in text.lower()
    await moderation_log(harness.bot).drain()
    refused = [embed for _, embed in log.posts if "Refused" in str(embed.get("title"))]
    assert len(refused) == 1
    assert "matched blocked term: spooky" in str(refused[0]["fields"])
    assert "@\u200beveryone" in refused[0]["description"]  # escaped: it can never ping


async def test_over_quota_is_refused_until_midnight_in_the_servers_timezone(
    harness: Harness,
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    clock = [datetime(2026, 8, 5, 23, 58, tzinfo=tokyo).timestamp()]
    harness.bot.policy.clock = lambda: clock[0]
    await settings(harness, member_daily_images=2, timezone="Asia/Tokyo")
    await accepted(harness, imagine("two foxes", n=2))
    submits = harness.sandbox.count("submit")
    text = await refusal(harness, imagine("a third fox"))
    midnight = int(datetime(2026, 8, 6, tzinfo=tokyo).timestamp())
    assert "Your daily limit" in text and f"<t:{midnight}:R>" in text
    assert harness.sandbox.count("submit") == submits
    clock[0] = (datetime(2026, 8, 6, tzinfo=tokyo) + timedelta(seconds=1)).timestamp()
    await accepted(harness, imagine("a new day's fox"))


async def test_concurrent_requests_cannot_overrun_the_server_quota(harness: Harness) -> None:
    await settings(harness, server_daily_images=2)
    payloads = [imagine(f"fox {i}", user_id=USER_ID + i) for i in range(4)]
    before = len(harness.adapter.calls)
    for payload in payloads:
        dispatch(harness.bot, payload)
    await harness.adapter.wait_for(lambda calls: len(callbacks(calls[before:])) >= 4)
    answers = callbacks(harness.adapter.calls[before:])
    deferred = [c for c in answers if (c.payload or {}).get("type") == 5]
    refused = [c for c in answers if (c.payload or {}).get("type") == 4]
    assert (len(deferred), len(refused)) == (2, 2)
    assert all("Server daily limit" in text_of(c) for c in refused)


async def test_every_job_goes_to_the_moderation_log_with_prompt_settings_and_link(
    harness: Harness,
) -> None:
    log = record_log(harness)
    await settings(harness, moderation_channel=555)
    await accepted(harness, imagine("a **bold** fox <@&123>", ratio="16:9", resolution="2K"))
    await moderation_log(harness.bot).drain()
    assert log.titles() == ["⚙️ Settings changed", "🖼️ Job delivered"]
    channel, embed = log.posts[-1]
    assert channel == 555
    assert "\\*\\*bold\\*\\*" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Member"].startswith(f"<@{USER_ID}>")
    assert fields["Channel"] == f"<#{CHANNEL_ID}>"
    assert "2048×1152" in fields["Settings"]
    assert f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/" in fields["Result"]


async def test_a_safety_refusal_upstream_is_logged_and_costs_no_quota(harness: Harness) -> None:
    log = record_log(harness)
    await settings(harness, moderation_channel=555, member_daily_images=1)
    harness.sandbox.faults.safety_fail_tasks = 1
    final = await run_job(harness, imagine("a fox"))
    assert "safety system" in text_of(final)
    await moderation_log(harness.bot).drain()
    assert "🛡️ Refused by the image service's safety system" in log.titles()
    status = harness.bot.policy.status(GUILD_ID, USER_ID)
    assert (status.used, status.pending, status.left) == (0, 0, 1)
    await accepted(harness, imagine("a calmer fox"))
    assert harness.sandbox.count("submit") == 2  # refused once, not retried


async def test_results_are_posted_as_spoilers_when_the_server_asks(harness: Harness) -> None:
    await settings(harness, spoilers=True)
    final = await run_job(harness, imagine("a fox"))
    assert final.files and all(name.startswith("SPOILER_") for name, _ in final.files)


@pytest.mark.parametrize(
    ("access", "presser", "admin", "allowed"),
    [
        (ButtonAccess.REQUESTER, USER_ID, False, True),
        (ButtonAccess.REQUESTER, USER_ID + 1, False, False),
        (ButtonAccess.REQUESTER, USER_ID + 1, True, True),
        (ButtonAccess.ANYONE, USER_ID + 1, False, True),
    ],
)
async def test_who_may_reuse_a_members_result(
    harness: Harness, access: ButtonAccess, presser: int, admin: bool, allowed: bool
) -> None:
    await settings(harness, button_access=access)
    viewer = place_context(_interaction(harness, presser, admin), command="imagine")
    refusal = harness.bot.policy.reuse_refusal(viewer, _stored_job(USER_ID))
    assert (refusal is None) is allowed
    if not allowed:
        assert f"<@{USER_ID}>" in str(refusal)


def _stored_job(user_id: int) -> JobRecord:
    return JobRecord(
        id="ab" * 16,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=user_id,
        request=JobRequest(prompt="a fox"),
        resolution=Resolution.R1K,
        width=1024,
        height=1024,
        client_reference="easel-ab",
    )


def _interaction(h: Harness, user_id: int, admin: bool) -> Any:
    import discord

    payload = as_member(imagine("x", user_id=user_id), admin=admin)
    return discord.Interaction(data=payload, state=h.bot._connection)  # type: ignore[arg-type]


async def test_a_refusal_is_recorded_for_usage_reports(harness: Harness) -> None:
    await settings(harness, max_n=1)
    await refusal(harness, imagine("a fox", n=2))
    policy = harness.bot.policy
    counts = await policy.store.event_counts(GUILD_ID, policy.today(GUILD_ID))
    assert [(c.event, c.rule) for c in counts] == [("refused", "max_images")]
