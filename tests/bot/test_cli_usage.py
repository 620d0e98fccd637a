"""``python -m bot usage``: the host's report of images and spending, from the database."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from bot.policy.records import SpendEntry
from bot.store.database import Database
from bot.store.policy import SqlitePolicyStore
from tests.support.cli import run_cli

GUILD, OTHER_GUILD, ALICE, BOB = 100, 200, 1, 2


async def seed(tmp_path: Path) -> None:
    """Three delivered jobs (one at an unknown price) and one billed failure, in two servers."""
    async with Database.open(tmp_path / "db") as database:
        store = SqlitePolicyStore(database)
        jobs = [
            ("a", GUILD, ALICE, "2026-08-01", 2, Decimal("0.08")),
            ("b", GUILD, BOB, "2026-08-02", 1, None),
            ("c", OTHER_GUILD, ALICE, "2026-08-02", 1, Decimal("0.04")),
        ]
        for job_id, guild, user, day, images, cost in jobs:
            await store.record_usage(job_id, guild, user, day, images)
            await store.record_spend(
                SpendEntry(
                    job_id=job_id,
                    guild_id=guild,
                    user_id=user,
                    day=day,
                    accepted_at=0.0,
                    images=images,
                    cost=cost,
                    currency="USD",
                )
            )
        await store.record_spend(  # cancelled after submitting: billed, no images
            SpendEntry(
                job_id="d",
                guild_id=GUILD,
                user_id=BOB,
                day="2026-08-02",
                accepted_at=0.0,
                images=0,
                cost=Decimal("0.04"),
                currency="USD",
            )
        )


async def test_usage_prints_days_members_and_the_total_with_unknown_costs_named(
    tmp_path: Path,
) -> None:
    await seed(tmp_path)
    code, out, err = await run_cli(
        "usage", "--since", "2026-08-01", "--until", "2026-08-03", env={}, tmp_path=tmp_path
    )
    assert code == 0, err
    assert "Easel usage 2026-08-01 to 2026-08-03 (USD)" in out
    assert "2026-08-01         2      1  0.08 USD" in out
    assert "2026-08-02         2      3  0.08 USD + 1 job at an unknown price" in out
    assert out.rstrip().endswith("total: 4 images in 4 jobs, 0.16 USD + 1 job at an unknown price")


async def test_usage_as_csv_for_one_server(tmp_path: Path) -> None:
    await seed(tmp_path)
    code, out, err = await run_cli(
        "usage", "--since", "2026-08-01", "--guild", str(GUILD), "--csv", env={}, tmp_path=tmp_path
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["day"], r["member_id"], r["images"], r["jobs"], r["cost"], r["unknown_cost_jobs"])
            for r in rows] == [
        ("2026-08-01", str(ALICE), "2", "1", "0.08", "0"),
        ("2026-08-02", str(BOB), "1", "2", "0.04", "1"),
    ]  # fmt: skip
    assert {r["server_id"] for r in rows} == {str(GUILD)}


async def test_a_day_that_is_not_a_date_is_refused_naming_the_format(tmp_path: Path) -> None:
    code, _, err = await run_cli("usage", "--since", "last week", env={}, tmp_path=tmp_path)
    assert code == 2 and "is not a day like 2026-08-01" in err


async def test_without_a_database_it_says_where_it_looked(tmp_path: Path) -> None:
    code, _, err = await run_cli("usage", "--since", "2026-08-01", env={}, tmp_path=tmp_path)
    assert code == 1 and f"no database at {tmp_path}/db" in err
