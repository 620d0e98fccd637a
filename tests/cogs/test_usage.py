"""``/usage``: members see their own standing; admins see the server's books."""

from __future__ import annotations

from typing import Any

from bot.i18n import Day, source_lang
from tests.cogs.conftest import Harness
from tests.cogs.policy_support import (
    EPHEMERAL,
    as_member,
    imagine,
    option,
    run_job,
    text_of,
    user_option,
)
from tests.support.discord_harness import (
    GUILD_ID,
    USER_ID,
    RecordedCall,
    dispatch,
    slash_command_payload,
)

OTHER = USER_ID + 1


def usage(
    *options: dict[str, Any], admin: bool = False, resolved: dict[str, Any] | None = None
) -> dict[str, Any]:
    payload = slash_command_payload("usage", list(options))
    if resolved:
        payload["data"]["resolved"] = resolved
    return as_member(payload, admin=admin)


async def report(h: Harness, payload: dict[str, Any]) -> RecordedCall:
    """The ephemeral answer (a refusal, or the follow-up after an ephemeral defer)."""
    token = payload["token"]
    before = len(h.adapter.calls)
    dispatch(h.bot, payload)

    def answered(calls: list[RecordedCall]) -> bool:
        return any(token in c.url and _message(c) for c in calls[before:])

    await h.adapter.wait_for(answered)
    return next(c for c in h.adapter.calls[before:] if token in c.url and _message(c))


def _message(call: RecordedCall) -> bool:
    if call.is_callback:
        return (call.payload or {}).get("type") == 4
    return call.method == "POST"


async def test_a_member_sees_what_is_left_and_when_it_resets(harness: Harness) -> None:
    await harness.bot.policy.update(GUILD_ID, by=1, member_daily_images=5, server_daily_images=50)
    await run_job(harness, imagine("two foxes", n=2))
    call = await report(harness, usage())
    assert call.flags & EPHEMERAL
    text = text_of(call)
    assert "Your Easel usage" in text
    assert "Made: 2 images" in text and "left: 3" in text and "Server today: 2 of 50" in text
    resets = harness.bot.policy.resets_at(GUILD_ID)
    assert f"<t:{resets}:R>" in text
    assert "2 images in 1 job" in text


async def test_members_cannot_see_the_server_or_others(harness: Harness) -> None:
    call = await report(harness, usage(option("report", "server")))
    assert call.is_callback and "Manage Server" in text_of(call)
    member, resolved = user_option("member", OTHER)
    call = await report(harness, usage(member, resolved=resolved))
    assert "Manage Server" in text_of(call)


async def test_admins_see_usage_by_day_and_member_with_failures_and_refusals(
    harness: Harness,
) -> None:
    policy = harness.bot.policy
    await run_job(harness, imagine("a fox"))
    await run_job(harness, imagine("three foxes", user_id=OTHER, n=3))
    harness.sandbox.faults.safety_fail_tasks = 1
    await run_job(harness, imagine("a refused fox"))
    await policy.update(GUILD_ID, by=1, max_n=1)
    dispatch(harness.bot, imagine("too many", n=2))
    await harness.adapter.wait_for(lambda calls: "Images per job" in str(calls[-1].payload))

    call = await report(
        harness, usage(option("report", "server"), option("days", 3, 4), admin=True)
    )
    text = text_of(call)
    assert "4 images in the last 3 days" in text
    today = source_lang().value(Day(iso=policy.today(GUILD_ID)))  # e.g. "Sat, Nov 28"
    assert f"`{today}` · 4 images in 2 jobs" in text
    assert f"<@{OTHER}> · 3 images in 1 job" in text and f"<@{USER_ID}> · 1 image in 1 job" in text
    assert "1 × failed: refused by the image service's safety system" in text
    assert "1 × refused by the server's rules: Images per job" in text

    member, resolved = user_option("member", OTHER)
    call = await report(harness, usage(member, admin=True, resolved=resolved))
    assert f"<@{OTHER}>" in text_of(call) and "Made: 3 images" in text_of(call)
