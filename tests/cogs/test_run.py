"""Acknowledge first: post-defer work waits for other interactions' acknowledgements."""

from __future__ import annotations

import asyncio
import time

from cogs._run import AckGate


async def test_work_after_a_defer_waits_until_every_acknowledgement_is_done() -> None:
    gate = AckGate(max_wait=5)
    released = asyncio.Event()
    order: list[str] = []

    async def slow_ack() -> None:
        async with gate.acknowledging():
            await released.wait()
            order.append("other ack")

    other = asyncio.create_task(slow_ack())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(gate.wait_until_quiet())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    released.set()
    await waiter
    order.append("post-defer work")
    await other
    assert order == ["other ack", "post-defer work"]


async def test_the_wait_is_capped_so_steady_traffic_cannot_starve_jobs() -> None:
    gate = AckGate(max_wait=0.1)
    never = asyncio.Event()

    async def stuck_ack() -> None:
        async with gate.acknowledging():
            await never.wait()

    stuck = asyncio.create_task(stuck_ack())
    await asyncio.sleep(0)
    started = time.monotonic()
    await gate.wait_until_quiet()
    assert 0.09 <= time.monotonic() - started < 1.0
    stuck.cancel()


async def test_a_quiet_gate_does_not_wait() -> None:
    gate = AckGate()
    started = time.monotonic()
    await gate.wait_until_quiet()
    assert time.monotonic() - started < 0.09  # it waits 0.1 s only while acks are in flight
