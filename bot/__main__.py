"""Entry point: ``python -m bot`` runs the bot, or without a DISCORD_TOKEN the playground (Easel
in a browser, against a local Discord); ``imagine``, ``check``, ``models`` and ``usage`` need no
Discord; ``healthcheck``, ``backup`` and ``restore`` are for hosts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot import service_cli
from bot.errors import ConfigError
from bot.settings import load_settings

QUIET = {"imagine", "check", "models", "usage", "healthcheck", "backup", "restore"}  # own output


def build_parser() -> argparse.ArgumentParser:
    """The command line; no subcommand means: run the bot (the playground without a token)."""
    from bot import cli  # the engine's modules: not loaded for the health probe

    parser = argparse.ArgumentParser(prog="python -m bot", description="Easel, a GPT-Image-2 bot")
    subparsers = parser.add_subparsers(dest="command")
    subparsers.add_parser("run", help="run the Discord bot (the default; needs DISCORD_TOKEN)")
    playground = subparsers.add_parser(
        "playground",
        help="Easel in a browser: a local Discord, the real bot, a web page (the default "
        "without DISCORD_TOKEN)",
    )
    playground.add_argument(
        "--port", type=int, help="port on 127.0.0.1 for the page (default: PLAYGROUND_PORT, 8765)"
    )
    cli.add_imagine_parser(subparsers)
    cli.add_check_parser(subparsers)
    cli.add_models_parser(subparsers)
    service_cli.add_parsers(subparsers)
    cli.add_usage_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load settings (exit 2 with one line on a bad setting), dispatch."""
    if (sys.argv[1:] if argv is None else argv) == ["healthcheck"]:
        return service_cli.probe()  # every 30 s in the container: only what it needs
    from bot import cli
    from bot.log_setup import secret_values, setup_logging

    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        quiet = args.command in QUIET and settings.log_level != "DEBUG"
        setup_logging(  # the CLI prints its own progress
            "WARNING" if quiet else settings.log_level,
            fmt=settings.log_format,
            secrets=secret_values(settings),
        )
        if args.command == "imagine":
            return asyncio.run(cli.imagine(settings, args))
        if args.command == "check":
            settings.check_sandbox_chosen()
            return asyncio.run(cli.check(settings))
        if args.command == "models":
            return cli.models(settings, as_json=args.json, everything=args.all)
        if args.command == "backup":
            return asyncio.run(service_cli.backup(settings, args.path))
        if args.command == "restore":
            return asyncio.run(service_cli.restore(settings, args.path, force=args.force))
        if args.command == "usage":
            return asyncio.run(cli.usage(settings, args))
        if args.command == "playground" or (args.command is None and not settings.discord_token):
            from bot.playground.entry import run_playground  # the local Discord, on this path only

            port = getattr(args, "port", None)
            return run_playground(settings, settings.playground_port if port is None else port)
        settings.check_sandbox_chosen()
        from bot.client import run_bot  # imports discord only when the bot runs

        return run_bot(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return cli.EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
