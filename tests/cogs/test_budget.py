"""``/easel budget``: refused without prices, amounts checked; a job over budget is refused
privately before any spend and logged for the moderators; ``/usage`` shows the money."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from PIL import Image

from bot.policy.budget import Budget
from bot.providers.prices import ModelPrices
from tests.cogs.conftest import Harness
from tests.cogs.policy_support import (
    EPHEMERAL,
    answer,
    easel,
    imagine,
    option,
    record_log,
    run_job,
    text_of,
    user_option,
)
from tests.cogs.test_usage import report, usage
from tests.support.discord_harness import GUILD_ID, USER_ID

OTHER = USER_ID + 1


def price(h: Harness, per_image: str) -> None:
    """Give the harness's image service a published price (its shipped profile has none)."""
    provider = h.bot.engine.provider
    table = ModelPrices.model_validate({"image": per_image, "input_image": 0})
    provider.spec = provider.spec.model_copy(update={"prices": table})  # type: ignore[misc]


async def ask(h: Harness, payload: dict[str, Any]) -> str:
    call = await answer(h, payload)
    assert call.flags & EPHEMERAL, text_of(call)
    return text_of(call)


async def test_a_budget_is_refused_while_the_prices_are_unknown_but_off_always_works(
    harness: Harness,
) -> None:
    text = await ask(harness, easel("server", option("monthly", "5"), group="budget"))
    assert "prices of" in text and "are unknown" in text and "IMAGE_PROFILES_FILE" in text
    assert not harness.bot.policy.settings(GUILD_ID).server_budget.set
    text = await ask(harness, easel("server", option("monthly", "off"), group="budget"))
    assert "Server budget: no limit" in text


async def test_an_amount_that_is_not_money_says_what_to_type(harness: Harness) -> None:
    price(harness, "0.04")
    text = await ask(harness, easel("server", option("daily", "lots"), group="budget"))
    assert "The daily budget must be a number like 25 or 0.50, or off" in text


async def test_a_job_over_a_members_own_budget_is_refused_before_any_request_and_logged(
    harness: Harness,
) -> None:
    price(harness, "0.04")
    log = record_log(harness)
    await harness.bot.policy.update(GUILD_ID, by=1, moderation_channel=555)
    member, resolved = user_option("member", USER_ID)
    text = await ask(
        harness, easel("member", member, option("daily", "0.10"), group="budget", resolved=resolved)
    )
    assert f"<@{USER_ID}>'s own budget: 0.10 USD a day" in text
    assert harness.bot.policy.settings(GUILD_ID).budget_of(USER_ID) == Budget(daily=Decimal("0.10"))
    await run_job(harness, imagine("two foxes", n=2))  # 0.08
    submits = harness.sandbox.count("submit")
    refused = await ask(harness, imagine("two more", n=2))
    assert harness.sandbox.count("submit") == submits
    assert "Your budget" in refused and "0.02 USD left of your daily budget of 0.10 USD" in refused
    assert "resets <t:" in refused
    assert "🚫 Refused: Your budget" in log.titles()
    # another member is not held to it
    await run_job(harness, imagine("their fox", user_id=OTHER, n=2))


async def test_usage_shows_spend_and_budgets_and_admins_get_a_chart_and_a_csv(
    harness: Harness,
) -> None:
    price(harness, "0.04")
    await harness.bot.policy.update(GUILD_ID, by=1, server_budget=Budget(monthly=Decimal("1")))
    await run_job(harness, imagine("three foxes", n=3))
    own = text_of(await report(harness, usage()))
    assert "Spent: 0.12 USD today, 0.12 USD this month" in own
    assert "Server budget: 0.88 USD left of 1.00 USD a month" in own
    assert "3 images in 1 job · 0.12 USD" in own
    call = await report(harness, usage(option("report", "server"), admin=True))
    assert "spent 0.12 USD" in text_of(call)
    files = dict(call.files)
    chart, table = files["easel-usage.png"], next(v for k, v in files.items() if k.endswith(".csv"))
    with Image.open(io.BytesIO(chart)) as image:
        assert image.format == "PNG" and image.width == 1000
    assert f",{GUILD_ID},{USER_ID},3,1,0.12,0,USD" in table.decode()
    assert "attachment://easel-usage.png" in str(call.payload)
