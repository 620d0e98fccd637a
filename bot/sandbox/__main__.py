"""Run the sandbox on its own: ``python -m bot.sandbox --port 8765 --task-duration 5``.

``--api openai`` (or ``infinityblue``, ``starrise``, ``anyfast``) serves that API's emulator
instead of ToAPIs'; ``--task-duration`` is then how long one image call takes.

Used when the bot, a benchmark or a manual ``curl`` session needs the emulator in another process;
its fault knobs are then set over HTTP with ``POST /_sandbox/faults``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import get_args

from bot.providers.catalog import SizeTableName
from bot.sandbox.openai_server import Flavour, OpenAISandbox
from bot.sandbox.server import Sandbox


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox", description="Local ToAPIs emulator (127.0.0.1 only)."
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--task-duration", type=float, default=5.0, help="seconds per task")
    parser.add_argument("--size-table", choices=get_args(SizeTableName), default="seed")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per API call")
    parser.add_argument("--api-key", default=None, help="require exactly this Bearer key")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument(
        "--api",
        choices=["toapis", *get_args(Flavour)],
        default="toapis",
        help="which API to emulate (default: ToAPIs)",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    sandbox: Sandbox | OpenAISandbox
    if args.api == "toapis":
        sandbox = Sandbox(
            api_key=args.api_key,
            task_duration=args.task_duration,
            size_table=args.size_table,
            latency=args.latency,
        )
    else:
        sandbox = OpenAISandbox(
            args.api, api_key=args.api_key, call_duration=args.task_duration, latency=args.latency
        )
    base_url = await sandbox.start(port=args.port)
    sys.stdout.write(f"{base_url}\n")  # the one line a parent process waits for
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGINT or SIGTERM."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
