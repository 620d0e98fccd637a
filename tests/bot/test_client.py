"""The sharded bot: each process takes its shards' servers, only shard 0's process syncs, and a
shard Discord refuses stops the start with the setting to change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import discord.gateway
import discord.http
import pytest
from pydantic import SecretStr

from bot import client
from bot.client import EaselBot, use_discord_endpoints
from bot.client_metrics import GATEWAY, DiscordMetrics
from bot.errors import ConfigError
from bot.ops.metrics import Metrics
from bot.ops.server import Readiness
from bot.runtime import open_services
from bot.settings import Settings, load_settings
from local_discord import Channel, Guild, LocalDiscord


@pytest.fixture(autouse=True)
def restore_discord_endpoints() -> Iterator[None]:
    """``use_discord_endpoints`` mutates discord.py class attributes: put them back."""
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


def settings_for(ld: LocalDiscord, state: Path, **shards: object) -> Settings:
    """Sandbox provider, state under ``state``, pointed at ``ld``."""
    return load_settings(
        _env_file=None,
        discord_token=ld.bot_token,
        discord_api_base=ld.api_base,
        discord_gateway_url=ld.gateway_url,
        database_url=f"sqlite:///{state}/easel.sqlite3",
        sandbox_task_duration=0,
        **shards,
    )


def general_of(guild: Guild) -> Channel:
    return next(c for c in guild.channels.values() if c.name == "general")


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[EaselBot]:
    """An Easel process's bot, connected until the block ends."""
    async with open_services(settings) as services:
        bot = EaselBot(settings, engine=services.engine, policy=services.policy)

        async def no_identify_pause(shard_id: int | None, *, initial: bool = False) -> None:
            return None  # discord.py waits 5 s between two IDENTIFYs of one process

        bot.before_identify_hook = no_identify_pause  # type: ignore[method-assign]
        await bot.login(settings.require_discord_token().get_secret_value())
        task = asyncio.create_task(bot.connect(reconnect=True))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)


async def test_two_shard_processes_split_the_servers_and_only_shard_0_syncs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.client")
    async with LocalDiscord(shards=2) as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        second = await ld.create_guild("Second", members=[ld.alice], shard=1)
        first = settings_for(ld, tmp_path / "a", shard_count=2, shard_ids=[0])
        other = settings_for(ld, tmp_path / "b", shard_count=2, shard_ids="1")
        async with running(other) as one:
            assert (one.shard_count, one.shard_ids) == (2, [1])
            assert ld.synced_commands == {}, "the process without shard 0 synced"
            assert "not syncing application commands: the process with shard 0 does" in (
                caplog.text
            )
            async with running(first) as zero:
                await ld.wait_until_connected(shards=[0, 1])
                assert [g.id for g in zero.guilds] == [ld.guild.id]
                assert [g.id for g in one.guilds] == [second.id]
                assert {c["name"] for c in ld.commands()} >= {"imagine", "edit"}
                seen: dict[str, list[int]] = {"zero": [], "one": []}
                for name, bot in (("zero", zero), ("one", one)):

                    async def record(interaction: discord.Interaction, name: str = name) -> None:
                        seen[name].append(interaction.id)

                    bot.add_listener(record, "on_interaction")
                # 4K is not offered at 1:1: refused by validation, answered by the shard's process.
                handle = await ld.send_slash_command(
                    ld.alice,
                    general_of(second),
                    "imagine",
                    {"prompt": "a fox", "ratio": "1:1", "resolution": "4K"},
                )
                answer = await handle.wait_for_callback()
                assert answer.type == 4 and "4K" in str(answer.data)
                assert seen == {"zero": [], "one": [handle.id]}
        syncs = ld.requests_to("/applications/{application_id}/commands", "PUT")
        assert len(syncs) == 1
    assert "ready as Easel" in caplog.text and "on shard(s) 1 of 2" in caplog.text


async def test_without_shard_settings_one_process_runs_every_recommended_shard(
    tmp_path: Path,
) -> None:
    async with LocalDiscord(shards=2) as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        second = await ld.create_guild("Second", shard=1)
        async with running(settings_for(ld, tmp_path)) as bot:
            assert bot.shard_count == 2 and bot.shard_ids is None
            assert {g.id for g in bot.guilds} == {ld.guild.id, second.id}
            assert ld.synced_commands


async def test_too_few_shards_stop_the_start_naming_shard_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord's 4011 (sharding required) is a setting to change, not a traceback."""
    async with LocalDiscord() as ld:
        use_discord_endpoints(ld.api_base, ld.gateway_url)
        ld.gateway.max_guilds_per_shard = 1
        await ld.create_guild("Second")
        settings = settings_for(ld, tmp_path, shard_count=1, http_port=0)
        with pytest.raises(ConfigError) as caught:
            await client._run(settings, SecretStr(ld.bot_token))
    assert caught.value.setting == "SHARD_COUNT"
    assert "unset it to use Discord's recommendation" in str(caught.value)


def test_each_refusal_names_its_setting() -> None:
    invalid = client._refused_shard(4010)
    required = client._refused_shard(4011)
    assert invalid is not None and invalid.setting == "SHARD_IDS"
    assert required is not None and required.setting == "SHARD_COUNT"
    assert client._refused_shard(4000) is None


async def test_readiness_waits_for_every_shard_of_the_process(tmp_path: Path) -> None:
    """A process whose second shard is not connected would leave that shard's servers
    unanswered: ``/readyz`` says which shard it waits for, and again when one drops."""
    async with LocalDiscord(shards=2) as ld:
        settings = settings_for(ld, tmp_path, shard_count=2, shard_ids="0,1")
        readiness = Readiness()
        metrics = DiscordMetrics(Metrics().registry, readiness)
        async with open_services(settings) as services:
            bot = EaselBot(
                settings, engine=services.engine, policy=services.policy, metrics=metrics
            )
            await bot.on_shard_connect(1)
            assert await readiness.reasons() == {GATEWAY: "waiting for gateway shard(s) 0"}
            await bot.on_shard_connect(0)
            assert await readiness.reasons() == {}
            await bot.on_shard_disconnect(0)
            assert await readiness.reasons() == {GATEWAY: "gateway shard 0 dropped; reconnecting"}
            await bot.on_shard_resumed(0)
            assert await readiness.reasons() == {}
