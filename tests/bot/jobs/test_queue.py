"""The fair queue: caps hold, members take turns, positions are reported as they change."""

from __future__ import annotations

from bot.jobs.queue import FairQueue, QueueLimits


def granted(queue: FairQueue, entries: list) -> list[str]:  # type: ignore[type-arg]
    return [
        entry.job_id for entry in entries if entry.granted.done() and not entry.granted.cancelled()
    ]


async def test_the_global_cap_holds_and_a_release_admits_the_next() -> None:
    queue = FairQueue(QueueLimits(global_jobs=2, per_member=5))
    entries = [queue.enqueue(f"j{i}", member=i, guild=1) for i in range(4)]
    assert granted(queue, entries) == ["j0", "j1"]
    queue.release("j0")
    assert granted(queue, entries) == ["j0", "j1", "j2"]


async def test_members_are_served_round_robin() -> None:
    queue = FairQueue(QueueLimits(global_jobs=1, per_member=5))
    entries = [queue.enqueue(f"alice{i}", member=1, guild=1) for i in range(3)]
    entries += [
        queue.enqueue("bob0", member=2, guild=1),
        queue.enqueue("carol0", member=3, guild=1),
    ]
    order = []
    for _ in range(5):
        running = [e.job_id for e in entries if e.granted.done() and e.job_id not in order]
        order.extend(running)
        queue.release(running[0])
    assert order == ["alice0", "bob0", "carol0", "alice1", "alice2"]


async def test_per_member_and_per_guild_caps_skip_to_someone_else() -> None:
    queue = FairQueue(QueueLimits(global_jobs=10, per_member=1, per_guild=2))
    a = [queue.enqueue(f"a{i}", member=1, guild=1) for i in range(2)]
    b = queue.enqueue("b0", member=2, guild=1)
    c = queue.enqueue("c0", member=3, guild=1)
    d = queue.enqueue("d0", member=4, guild=2)
    assert granted(queue, [*a, b, c, d]) == ["a0", "b0", "d0"]
    queue.release("a0")  # guild 1 has a slot again; carol has waited longer than alice's second
    assert "c0" in granted(queue, [*a, b, c, d]) and "a1" not in granted(queue, [*a, b, c, d])
    assert queue.running == 3


async def test_positions_follow_the_round_robin_order_and_are_reported_on_change() -> None:
    reported: list[tuple[str, int]] = []
    queue = FairQueue(
        QueueLimits(global_jobs=1), on_position=lambda job, pos: reported.append((job, pos))
    )
    queue.enqueue("run", member=9, guild=1)
    queue.enqueue("a1", member=1, guild=1)
    queue.enqueue("a2", member=1, guild=1)
    queue.enqueue("b1", member=2, guild=1)
    assert [queue.position(j) for j in ("a1", "b1", "a2")] == [1, 2, 3]
    reported.clear()
    queue.release("run")
    assert queue.position("a1") is None
    assert (queue.position("b1"), queue.position("a2")) == (1, 2)
    assert set(reported) == {("b1", 1), ("a2", 2)}


async def test_releasing_a_waiting_job_removes_it_from_the_line() -> None:
    queue = FairQueue(QueueLimits(global_jobs=1))
    queue.enqueue("run", member=1, guild=1)
    waiting = queue.enqueue("w", member=2, guild=1)
    queue.release("w")
    assert waiting.granted.cancelled() and queue.waiting == 0
