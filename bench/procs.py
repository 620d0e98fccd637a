"""The sandbox and the bot as child processes: started, watched, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.settings import Settings

START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


class ProcessFailed(RuntimeError):
    """A child process died or did not start; the message carries its stderr tail."""


@dataclass
class Child:
    """A child process whose stderr goes to a file."""

    name: str
    proc: asyncio.subprocess.Process
    stderr_path: Path
    exit_code: int | None = None

    def stderr(self) -> str:
        """Everything it wrote to stderr."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        """CPU time so far (Linux ``/proc``; None elsewhere or once it exited).

        The scheduler's nanosecond count summed over the live threads where the kernel keeps
        it (``schedstat``), else user + system time in clock ticks (10 ms: too coarse for a
        burst that costs the bot tens of milliseconds).
        """
        precise = _schedstat_seconds(self.proc.pid)
        if precise is not None:
            return precise
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int:  # noqa: ASYNC109 - plain deadline
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.exit_code = self.proc.returncode
        assert self.exit_code is not None
        return self.exit_code

    def tail(self, chars: int = 4000) -> str:
        """The end of stderr, for error messages."""
        return self.stderr()[-chars:]


def _schedstat_seconds(pid: int) -> float | None:
    """Seconds on CPU of every live thread of ``pid`` (``/proc/PID/task/*/schedstat``)."""
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
        total = 0
        for thread in threads:
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                total += int((thread / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9 if threads else None


def pin_to(pid: int, cpus: set[int]) -> None:
    """Restrict a process (its threads started from now on) to ``cpus`` (Linux only)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, cpus)


def split_cpus(bots: int = 1, count: int | None = None) -> tuple[list[set[int]], set[int]]:
    """(a CPU for each bot process, CPUs for everything else).

    Bot ``i`` gets CPU ``i`` (round-robin when there are more bots than CPUs); everything else
    gets the CPUs no bot has, or every CPU when the bots took them all.
    """
    count = count or os.cpu_count() or 1
    mine = [{i % count} for i in range(bots)]
    taken = set().union(*mine)
    return mine, (set(range(count)) - taken) or set(range(count))


def child_environment(source: Path, **settings: str) -> dict[str, str]:
    """This environment minus every Easel setting (a run must not depend on the caller's
    shell), plus ``settings``; ``source`` goes first on PYTHONPATH."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


async def start_sandbox(source: Path, workdir: Path, task_duration: float) -> tuple[Child, str]:
    """``python -m bot.sandbox`` on a free port; returns it and the base URL it printed."""
    stderr_path = workdir / "sandbox.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.sandbox",
            "--port",
            "0",
            "--task-duration",
            str(task_duration),
            "--log-level",
            "INFO",  # the "Sandbox task" lines give each task's start time
            cwd=workdir,
            env=child_environment(source),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    child = Child("sandbox", proc, stderr_path)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
    except TimeoutError:
        line = b""
    url = line.decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        await child.stop()
        raise ProcessFailed(f"the sandbox did not start:\n{child.tail()}")
    return child, url


async def start_bot(
    source: Path, workdir: Path, env: dict[str, str], *, name: str = "bot", module: str = "bot"
) -> Child:
    """``python -m <module>`` with ``env`` (cwd ``workdir``, so no ``.env`` file is read);
    its stderr goes to ``<name>.stderr``."""
    stderr_path = workdir / f"{name}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            cwd=workdir,
            env=child_environment(source, **env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    return Child(name, proc, stderr_path)


async def first_of(waiting: asyncio.Future[None], child: Child, timeout: float) -> None:  # noqa: ASYNC109
    """Wait for ``waiting`` unless the child exits first or time runs out."""
    exited: asyncio.Future[Any] = asyncio.ensure_future(child.proc.wait())
    racers: set[asyncio.Future[Any]] = {waiting, exited}
    try:
        done, _ = await asyncio.wait(racers, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        exited.cancel()
    if waiting in done and waiting.exception() is None:
        return
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await waiting
    raise ProcessFailed(
        f"the {child.name} exited (code {child.proc.returncode}) or stalled:\n{child.tail()}"
    )
