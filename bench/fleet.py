"""The bots under test: Easel (or the floor) as one process per gateway shard.

With ``--shards 1`` one process runs without any SHARD_* setting (Discord's recommendation, one
shard here). With more, process ``i`` runs ``SHARD_COUNT=N SHARD_IDS=i`` and the local Discord
recommends N; servers are placed round-robin on the shards so each process gets its share of
the members. Processes start one after the other (shard 0 first: it syncs the commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.models import BenchConfig
from bench.procs import Child, first_of, pin_to, split_cpus, start_bot
from local_discord import Channel, LocalDiscord

CONNECT_TIMEOUT = 30.0
FLOOR_MODULE = "bench.floor"
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Fleet:
    """The running bot processes, in shard order, and where each writes its metrics."""

    children: list[Child] = field(default_factory=list)
    metrics: list[Path] = field(default_factory=list)

    def cpu_seconds(self) -> float | None:
        """CPU time of every bot process together (None when one cannot be read)."""
        readings = [child.cpu_seconds() for child in self.children]
        if any(reading is None for reading in readings):
            return None
        return sum(reading for reading in readings if reading is not None)

    def stderr(self) -> str:
        """Every process's log, one after the other (each line names its job and task)."""
        return "\n".join(child.stderr() for child in self.children)

    async def stop(self) -> list[int]:
        """SIGTERM each (SIGKILL after a grace period); their exit codes."""
        return list(await asyncio.gather(*(child.stop() for child in self.children)))


def process_name(config: BenchConfig, shard: int) -> str:
    """``bot`` (or ``floor``) alone, ``bot-shard1`` with several."""
    base = "floor" if config.floor else "bot"
    return base if config.shards == 1 else f"{base}-shard{shard}"


def fleet_environment(
    config: BenchConfig,
    ld: LocalDiscord,
    workdir: Path,
    shard: int,
    *,
    sandbox_url: str | None,
    database_url: str | None,
) -> dict[str, str]:
    """One process's settings: the shipped defaults plus where Discord, the API and state are."""
    env = {
        "DISCORD_TOKEN": ld.bot_token,
        "DISCORD_API_BASE": ld.api_base,
        "DISCORD_GATEWAY_URL": ld.gateway_url,
        "METRICS_FILE": str(workdir / f"{process_name(config, shard)}-metrics.json"),
        "HTTP_PORT": "0",  # no health server: 8080 may be taken; METRICS_FILE is read
        "LOG_LEVEL": "INFO",  # job → task lines are INFO
        "SYNC_COMMANDS": "true",
    }
    if config.shards > 1:
        env.update(SHARD_COUNT=str(config.shards), SHARD_IDS=str(shard))
    if not config.floor:
        assert sandbox_url is not None and database_url is not None
        env.update(
            IMAGE_PROVIDER="toapis",
            IMAGE_API_BASE_URL=sandbox_url,
            IMAGE_API_KEY="benchmark",
            DATABASE_URL=database_url,
        )
    env.update(config.bot_env)
    return env


async def start_fleet(
    fleet: Fleet,
    config: BenchConfig,
    source: Path,
    workdir: Path,
    ld: LocalDiscord,
    *,
    sandbox_url: str | None,
    database_url: str | None,
) -> None:
    """Start every process into ``fleet`` and wait until its shard is connected (shard 0:
    commands synced too). A process that dies or stalls raises ``ProcessFailed``; the caller
    stops whatever ``fleet`` holds by then.
    """
    cpus, _ = split_cpus(config.shards)
    for shard in range(config.shards):
        name = process_name(config, shard)
        env = fleet_environment(
            config, ld, workdir, shard, sandbox_url=sandbox_url, database_url=database_url
        )
        # The floor is this checkout's; Easel is the measured source's (``--at``).
        where, module = (REPO_ROOT, FLOOR_MODULE) if config.floor else (source, "bot")
        child = await start_bot(where, workdir, env, name=name, module=module)
        fleet.children.append(child)
        fleet.metrics.append(Path(env["METRICS_FILE"]))
        if config.pin:
            pin_to(child.proc.pid, cpus[shard])

        def up(s: LocalDiscord, shard: int = shard) -> bool:
            connected = shard in s.gateway.connected_shards
            return connected and (shard > 0 or bool(s.synced_commands))

        ready = asyncio.ensure_future(ld.wait_for(up, CONNECT_TIMEOUT))
        await first_of(ready, child, CONNECT_TIMEOUT + 1)


async def bench_servers(ld: LocalDiscord, config: BenchConfig) -> list[Channel]:
    """The #general of each server the members use: the default one (shard 0) and new ones,
    server ``k`` on shard ``k % shards``. The member ``alice`` is in every one (warm-up)."""
    places = [ld.general]
    for k in range(1, config.server_count):
        guild = await ld.create_guild(
            f"Bench Server {k + 1}", members=[ld.alice], shard=k % config.shards
        )
        places.append(next(c for c in guild.channels.values() if c.name == "general"))
    return places


async def warm_up(ld: LocalDiscord, fleet: Fleet, places: list[Channel]) -> list[float | None]:
    """Bring each process to a steady state before measuring: wait for its on_ready (logged as
    "ready as …", at most 10 s) and run one /imagine that fails validation in a server on its
    shard, so the command path has run once (first-use imports and caches) without spending
    anything upstream (the floor just defers it).

    Returns each warm-up's acknowledgement latency in ms (a cold bot's, for the record).
    """
    latencies: list[float | None] = []
    for shard, child in enumerate(fleet.children):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "ready as" in await asyncio.to_thread(child.stderr):
                break
            await asyncio.sleep(0.1)
        handle = await ld.send_slash_command(
            "alice",
            places[shard],
            "imagine",
            {"prompt": "warm-up", "ratio": "1:1", "resolution": "4K"},
        )
        with contextlib.suppress(TimeoutError):
            await handle.wait_for_callback(timeout=5)
        latencies.append(
            None if handle.ack_latency is None else round(handle.ack_latency * 1000, 1)
        )
    return latencies
