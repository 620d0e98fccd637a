"""Command line: run the engine without Discord (``imagine``), check the setup (``check``),
show the image providers this installation uses and what they can do (``models``), and report
images and spending from the database (``usage``, ``bot.billing``).

``imagine --edit`` (or ``--mask``) runs an edit through the same engine as ``/edit``: the
``--image`` files go to the editing model, the first one being the image changed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from bot.billing.report import SpendReport
from bot.discord_login import DiscordUnreachableError, TokenRejectedError, fetch_bot_user
from bot.errors import EaselError
from bot.jobs.models import (
    InputImage,
    JobCompleted,
    JobDownloading,
    JobEvent,
    JobFailed,
    JobProgress,
    JobQueued,
    JobRequest,
    JobSubmitted,
    JobUploading,
    JobWaiting,
)
from bot.jobs.validation import spec_for
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.providers._http import normalise_base_url
from bot.providers.families import capabilities, model_spec
from bot.runtime import open_engine
from bot.settings import Settings
from bot.store.database import Database, redact
from bot.store.policy import SqlitePolicyStore

EXIT_JOB_FAILED = 1
EXIT_CONFIG = 2
EXIT_SOME_IMAGES_FAILED = 3  # images were written, but fewer than asked for


def add_imagine_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``imagine``: the same options as the slash command."""
    parser = subparsers.add_parser(
        "imagine",
        help="generate or edit images without Discord",
        description="Generate images, or edit them: --edit (or --mask) sends the --image files "
        "to the editing model (IMAGE_EDIT_MODEL) like /edit; without it they are references.",
    )
    parser.add_argument("prompt", help="what to draw, or what to change")
    parser.add_argument(
        "--ratio",
        choices=[r.value for r in Ratio],
        help="aspect ratio (default: 1:1, or auto for edits: the first image's shape)",
    )
    parser.add_argument(
        "--resolution",
        type=str.upper,
        choices=[r.value for r in Resolution],
        help="tier (default: the smallest the model offers for the ratio)",
    )
    parser.add_argument("--quality", choices=[q.value for q in Quality])
    parser.add_argument("-n", type=int, default=1, help="number of images (1-10)")
    parser.add_argument(
        "--format", dest="output_format", choices=[f.value for f in OutputFormat], default="png"
    )
    parser.add_argument("--compression", type=int, help="JPEG quality 0-100 (jpeg only)")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        type=Path,
        help="reference image, or with --edit an image to edit or blend (repeatable, up to 16)",
    )
    parser.add_argument(
        "--edit",
        action="store_true",
        help="edit the --image files (the first one is the one changed) instead of using them "
        "as references",
    )
    parser.add_argument(
        "--mask",
        type=Path,
        help="implies --edit: repaint where this PNG is transparent (or, without alpha, white); "
        "the size of the first --image, or the same shape",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the images")


def add_check_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``check``: validate settings and reach the provider."""
    subparsers.add_parser("check", help="validate the settings and reach the image API")


def add_models_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``models``: the providers in use, their models and limits."""
    parser = subparsers.add_parser(
        "models",
        help="show the image providers in use, their models and limits",
        description="The image providers this installation uses, in failover order: where "
        "each lives, the model Easel sends and what it allows. Makes no request.",
    )
    parser.add_argument(
        "--all", action="store_true", help="also describe the providers that are not configured"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_usage_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``usage``: the spending report /usage gives admins, for the host."""
    parser = subparsers.add_parser(
        "usage",
        help="images and spending per day and member, from the database",
        description="Images, jobs and spending per day and per member since a day (each "
        "server's days in its timezone), as a table or CSV. Reads the database only.",
    )
    parser.add_argument("--since", type=iso_day, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--until", type=iso_day, help="last day, YYYY-MM-DD (default: today)")
    parser.add_argument("--guild", type=int, help="one server's id (default: every server)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")


def iso_day(text: str) -> str:
    """A YYYY-MM-DD argument, or argparse's error naming the format."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-08-01") from None


async def usage(settings: Settings, args: argparse.Namespace) -> int:
    """Print the spending report from the database (nothing is changed, nothing sent)."""
    path = settings.database_path  # None: PostgreSQL, a server to ask
    if path is not None and not await asyncio.to_thread(path.exists):
        print(
            f"error: no database at {path} (DATABASE_URL); has the bot run here?", file=sys.stderr
        )
        return EXIT_JOB_FAILED
    if args.until is not None and args.until < args.since:
        print(f"error: --until {args.until} is before --since {args.since}", file=sys.stderr)
        return EXIT_CONFIG
    async with Database.open(path or settings.database_url.get_secret_value()) as database:
        jobs = await SqlitePolicyStore(database).job_spend(args.guild, args.since, args.until)
    # Without --until: up to today, or a later day a server east of here has already reached.
    today = date.today().isoformat()  # noqa: DTZ011 - servers' days are in their own zones
    last = args.until or max([today, *(job.day for job in jobs)])
    name = settings.sandbox_profile if settings.sandbox else settings.provider
    currency = settings.profiles[name].currency
    report = SpendReport.of(jobs, first_day=args.since, last_day=last, currency=currency)
    print(report.csv() if args.csv else report.table(), end="" if args.csv else "\n")
    return 0


async def imagine(settings: Settings, args: argparse.Namespace) -> int:
    """Run one job, show progress on stderr, write the images and print their paths."""
    references = []
    for option, path in [*(("--image", p) for p in args.image), ("--mask", args.mask)]:
        if path is None:
            continue
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            print(f"error: cannot read {option} {path}: {exc.strerror}", file=sys.stderr)
            return EXIT_JOB_FAILED
        references.append(InputImage(filename=path.name, data=data))
    mask = references.pop() if args.mask is not None else None
    edit = args.edit or mask is not None
    default_ratio = Ratio.AUTO if edit else Ratio.SQUARE
    request = JobRequest(
        prompt=args.prompt,
        edit=edit,
        mask=mask,
        ratio=Ratio(args.ratio) if args.ratio else default_ratio,
        resolution=Resolution(args.resolution) if args.resolution else None,
        quality=Quality(args.quality) if args.quality else None,
        n=args.n,
        output_format=OutputFormat(args.output_format),
        compression=args.compression,
        references=tuple(references),
    )
    async with open_engine(settings, ephemeral=True) as engine:
        try:
            resolved = engine.validate(request)
        except EaselError as exc:
            print(f"error: {exc.for_operator()}", file=sys.stderr)
            return EXIT_JOB_FAILED
        size = "auto" if request.ratio is Ratio.AUTO else f"{resolved.width}x{resolved.height}"
        model = spec_for(request, engine.spec).model_id
        what = f"edit of {len(request.references)} image(s) by {model} · " if request.edit else ""
        print(
            f"{engine.label}: {what}{size} ({resolved.resolution}) x{request.n}",
            file=sys.stderr,
        )
        job_id = uuid.uuid4().hex
        async for event in engine.run(resolved.request, job_id=job_id):
            if isinstance(event, JobCompleted):
                job = await engine.get_job(job_id)
                if job is not None and job.provider not in (None, engine.provider.name):
                    print(f"made by {engine.label_for(job)}", file=sys.stderr)  # failover
                paths = await asyncio.to_thread(_write_images, args.out, event)
                for path in paths:
                    print(path)
                shortfall = event.shortfall()
                if shortfall is not None:
                    print(f"warning: {shortfall}", file=sys.stderr)
                    return EXIT_SOME_IMAGES_FAILED
                return 0
            if isinstance(event, JobFailed):
                print(f"error: {event.reason}", file=sys.stderr)
                return EXIT_JOB_FAILED
            print(describe_event(event), file=sys.stderr)
    return EXIT_JOB_FAILED  # pragma: no cover - run() always ends with completed or failed


def describe_event(event: JobEvent) -> str:
    """One progress line for the terminal."""
    if isinstance(event, JobQueued):
        return f"queued (position {event.position})"
    if isinstance(event, JobUploading):
        return f"uploading references {event.done}/{event.total}"
    if isinstance(event, JobWaiting):
        wait = max(0.0, event.retry_at - time.time())
        return f"waiting: {event.reason} (trying again in {wait:.0f}s)"
    if isinstance(event, JobSubmitted):
        return f"submitted task {event.task_id}"
    if isinstance(event, JobProgress):
        preview = "" if event.preview is None else f" (preview {(event.preview_index or 0) + 1})"
        return f"{event.status} {event.percent}%{preview}"
    if isinstance(event, JobDownloading):
        return f"downloading {event.count} image(s)"
    return event.kind


def _write_images(out: Path, event: JobCompleted) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in event.images:
        path = out / image.filename
        path.write_bytes(image.data)
        paths.append(path)
    return paths


async def check(settings: Settings) -> int:
    """Print what is configured and whether the image API answers."""
    print(f"settings ok: provider {settings.provider}, model {settings.image_model}")
    paths = settings.state_paths.absolute()
    where = paths.database or redact(settings.database_url.get_secret_value())
    print(f"data directory: {paths.root} (database {where})")
    discord = await check_discord(settings)
    async with open_engine(settings, ephemeral=True) as engine:
        failed = discord == EXIT_JOB_FAILED
        for provider in engine.providers:  # failover providers must work too
            try:
                print(await provider.check())
            except EaselError as exc:
                print(f"error: {provider.label}: {exc.for_operator()}", file=sys.stderr)
                failed = True
    if discord == EXIT_CONFIG:
        return EXIT_CONFIG
    return EXIT_JOB_FAILED if failed else 0


async def check_discord(settings: Settings) -> int:
    """Log in to Discord's REST API once: 0 when the token works, 2 when it is rejected, 1 when
    Discord cannot be reached (the URL and the cause are printed)."""
    if settings.discord_token is None:
        print("discord token: NOT SET (needed to run the bot)")
        return 0
    try:
        user = await fetch_bot_user(settings.discord_token, api_base=settings.discord_api_base)
    except TokenRejectedError:
        print(
            "error: DISCORD_TOKEN was rejected by Discord (401 Unauthorized): it is wrong, was "
            "reset or was revoked. Copy the bot token again from the Developer Portal "
            "(your app → Bot → Reset Token).",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except DiscordUnreachableError as exc:
        print(f"error: cannot reach Discord at {exc.url}: {exc.cause.text}", file=sys.stderr)
        return EXIT_JOB_FAILED
    kind = "bot" if user.bot else "user (not a bot account)"
    print(f"discord token: valid, {kind} {user.username} ({user.id})")
    return 0


def models(settings: Settings, *, as_json: bool = False, everything: bool = False) -> int:
    """Print the providers in use (then, with ``everything``, the others); no request is made."""
    report = providers_report(settings, everything=everything)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    entries: list[dict[str, Any]] = report["providers"]
    used = [entry for entry in entries if entry["failover_position"] is not None]
    if report["sandbox"]:
        print("No image API key is set: the sandbox emulates this API with placeholder images.")
    else:
        print("Image providers in use, in failover order:")
    for entry in used:
        _print_provider(entry)
    others = [entry for entry in entries if entry["failover_position"] is None]
    if others:
        print("\nNot configured:")
        for entry in others:
            _print_provider(entry)
    elif report["not_in_use"]:
        names = ", ".join(report["not_in_use"])
        print(f"\nAlso known, not configured: {names} (python -m bot models --all describes them)")
    return 0


def providers_report(settings: Settings, *, everything: bool = False) -> dict[str, Any]:
    """The providers in failover order, as the engine will build them, and the rest by name.

    Each entry has the real base URL (settings first, then the profile), the models in use, the
    rows of ``capabilities`` once, and for the profile's other models only what differs.
    """
    profiles = settings.profiles
    in_use = [settings.sandbox_profile] if settings.sandbox else settings.provider_names
    rest = [name for name in profiles if name not in in_use]
    entries = [_provider_entry(settings, name, position) for position, name in enumerate(in_use, 1)]
    if everything:
        entries += [_provider_entry(settings, name, None) for name in rest]
    return {"sandbox": settings.sandbox, "providers": entries, "not_in_use": rest}


def _provider_entry(settings: Settings, name: str, position: int | None) -> dict[str, Any]:
    profile = settings.profiles[name]
    config = settings.provider_config(name)
    table = settings.image_size_table
    spec = model_spec(profile, config.model, config.edit_model, size_table=table)
    rows = capabilities(profile, spec, partial_images=settings.image_partial_images)
    others: dict[str, dict[str, str]] = {}
    for model_id in profile.models:
        if model_id != spec.model_id:
            other = model_spec(profile, model_id, config.edit_model, size_table=table)
            found = capabilities(profile, other, partial_images=settings.image_partial_images)
            others[model_id] = {key: text for key, text in found.items() if rows.get(key) != text}
    if settings.sandbox and position is not None:
        base_url = "a local emulator started with the bot (SANDBOX_API)"
    else:
        base_url = normalise_base_url(config.base_url or profile.base_url)
    return {
        "provider": name,
        "label": profile.label,
        "family": profile.family,
        "base_url": base_url,
        "failover_position": position,
        "model": spec.model_id,
        "edit_model": spec.for_edit().model_id,
        "capabilities": rows,
        "other_models": others,
    }


def _print_provider(entry: dict[str, Any]) -> None:
    position = entry["failover_position"]
    mark = f"{position}." if position is not None else "-"
    print(f"\n{mark} {entry['provider']}: {entry['label']} at {entry['base_url']}")
    edits = "" if entry["edit_model"] == entry["model"] else f" (edits: {entry['edit_model']})"
    print(f"   {'model':<11}{entry['model']}{edits}")
    for key, value in entry["capabilities"].items():
        print(f"   {key:<11}{value}")
    same = [model for model, changes in entry["other_models"].items() if not changes]
    if same:
        print(f"   {'also':<11}{', '.join(same)} (the same limits)")
    for model, changes in entry["other_models"].items():
        if changes:
            what = "; ".join(f"{key} {value}" for key, value in changes.items())
            print(f"   {'also':<11}{model}: {what}")
