"""Acknowledge first: post-defer work waits for other interactions' acknowledgements, counted
from their arrival."""

from __future__ import annotations

import asyncio
import time

from bot.ack_gate import AckGate


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


async def test_an_arrived_interaction_awaits_until_its_defer_is_sent() -> None:
    gate = AckGate(max_wait=5)
    gate.arrived(1)
    gate.arrived(1)  # the same interaction counts once
    gate.arrived(2)
    assert gate.pending == 2
    async with gate.acknowledging(1):
        assert gate.pending == 2  # counted on arrival, not twice
    assert gate.pending == 1
    waiter = asyncio.create_task(gate.wait_until_quiet())
    await asyncio.sleep(0.02)
    assert not waiter.done()
    gate.answered(2)
    await asyncio.wait_for(waiter, 1)
    assert gate.pending == 0


async def test_a_defer_of_an_interaction_not_counted_on_arrival_counts_while_in_flight() -> None:
    gate = AckGate()
    async with gate.acknowledging(7):
        assert gate.pending == 1
    assert gate.pending == 0
    gate.answered(7)  # answering twice changes nothing
    assert gate.pending == 0


async def test_an_interaction_nobody_answers_stops_counting_at_discords_deadline() -> None:
    gate = AckGate(ack_deadline=0.05)
    gate.arrived(3)
    assert gate.pending == 1
    await asyncio.sleep(0.1)
    assert gate.pending == 0
    await asyncio.wait_for(gate.wait_until_quiet(), 0.05)


async def test_after_a_burst_work_after_a_defer_holds_a_moment_more() -> None:
    gate = AckGate(burst=2, settle=0.2)
    for i in (1, 2):
        gate.arrived(i)
    assert gate.in_burst
    gate.answered(1)
    gate.answered(2)
    assert not gate.in_burst
    started = time.monotonic()
    await gate.wait_until_quiet()
    assert 0.15 <= time.monotonic() - started < 1.0
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await gate.wait_until_quiet()  # the hold is over: nothing waits
    assert time.monotonic() - started < 0.05


async def test_below_a_burst_nothing_holds_after_the_acknowledgements() -> None:
    gate = AckGate(burst=3, settle=5)
    gate.arrived(1)
    gate.arrived(2)
    gate.answered(1)
    gate.answered(2)
    started = time.monotonic()
    await gate.wait_until_quiet()
    assert time.monotonic() - started < 0.05
