"""Command line of ``python -m bench``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from bench.models import BenchConfig
from bench.procs import ProcessFailed
from bench.report import render
from bench.run import run
from bot.eventloop import run as run_loop

REPO_ROOT = Path(__file__).resolve().parents[1]


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.upper(), value


def build_parser() -> argparse.ArgumentParser:
    """The flags; every default is what ships (the bot runs with its default settings)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="N members run /imagine at once against the real bot process, the local "
        "Discord and the ToAPIs sandbox (all on 127.0.0.1); prints a table, optionally JSON.",
    )
    parser.add_argument("--jobs", type=int, default=50, help="concurrent members, one job each")
    parser.add_argument(
        "--upstream-duration", type=float, default=20.0, help="seconds each sandbox task takes"
    )
    parser.add_argument("--ratio", default="16:9", help="image ratio (default 16:9)")
    parser.add_argument("--resolution", default="2K", help="1K, 2K or 4K (default 2K)")
    parser.add_argument("-n", "--images", type=int, default=1, help="images per job (default 1)")
    parser.add_argument(
        "--references",
        type=int,
        default=0,
        help="reference images each member attaches (exercises uploads; default 0)",
    )
    parser.add_argument(
        "--guilds",
        type=int,
        default=None,
        help="spread the members over this many servers, round-robin over the shards "
        "(default: one server per shard, so 1 without --shards)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="run this many bot processes, one gateway shard each (SHARD_COUNT/SHARD_IDS), "
        "sharing one PostgreSQL (default 1: one process, no SHARD_* setting)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="run a bare discord.py bot whose /imagine only defers, instead of Easel: the "
        "lowest acknowledgement latency discord.py itself allows on this machine",
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "postgres"],
        default=None,
        help="Easel's database (default: sqlite for one process, postgres with --shards > 1)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help="an existing, empty PostgreSQL database for --store postgres (default: a "
        "throwaway server started for the run; needs the server binaries)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="give each bot process a CPU of its own (process i: CPU i) and run the sandbox "
        "and this driver on the other CPUs (Linux): closer to production, where Discord and "
        "the image API are remote",
    )
    parser.add_argument(
        "--driver-loop",
        choices=["auto", "asyncio"],
        default="auto",
        help="the event loop of this driver, which runs the local Discord (auto: uvloop when "
        "installed; Discord's own servers cost the bot's machine nothing, so the fake should "
        "cost it as little as it can)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        help="spread the jobs over this many seconds (0: at once)",
    )
    parser.add_argument(
        "--query-budget",
        type=int,
        default=3000,
        help="status queries per minute the account allows (ToAPIs default: 3000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="overall seconds (default: from the load)"
    )
    parser.add_argument(
        "--bot-env",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra bot setting (repeatable); results are labelled NON-DEFAULT",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=REPO_ROOT,
        help="checkout whose `python -m bot` and `python -m bot.sandbox` run (default: this one)",
    )
    parser.add_argument(
        "--at",
        default=None,
        metavar="REV",
        help="run the bot and sandbox of this commit (git archive of --source), not the "
        "working tree: reproducible while the tree is being edited",
    )
    parser.add_argument("--note", action="append", default=[], help="free text kept in the JSON")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="copy the bot's and sandbox's logs here"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run once; exit 0 when every job was delivered (the floor: acknowledged), 1 when some
    were not, 2 on setup errors."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.floor and (args.references or args.at):
        parser.error("--floor runs no Easel: --references and --at do not apply")
    try:
        config = _config(args)
    except ValidationError as exc:
        parser.error("; ".join(str(error["msg"]) for error in exc.errors()))
    try:
        result = run_loop(run(config), config.driver_loop)
    except ProcessFailed as exc:
        print(f"benchmark setup failed: {exc}", file=sys.stderr)
        return 2
    print(render(result))
    if config.json_path is not None:
        config.json_path.parent.mkdir(parents=True, exist_ok=True)
        config.json_path.write_text(result.model_dump_json(indent=2) + "\n")
        print(f"\nwrote {config.json_path}")
    done = result.jobs.acknowledged if config.floor else result.jobs.delivered
    return 0 if done == result.jobs.fired else 1


def _config(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        jobs=args.jobs,
        upstream_duration=args.upstream_duration,
        ratio=args.ratio,
        resolution=args.resolution,
        images_per_job=args.images,
        references=args.references,
        ramp=args.ramp,
        guilds=args.guilds,
        shards=args.shards,
        floor=args.floor,
        store=args.store,
        database_url=args.database_url,
        pin=args.pin,
        driver_loop=args.driver_loop,
        query_budget=args.query_budget,
        timeout=args.timeout,
        bot_env=dict(args.bot_env),
        source=args.source.resolve(),
        at=args.at,
        notes=args.note,
        json_path=args.json,
        keep_logs=args.keep_logs,
    )
