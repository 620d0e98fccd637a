"""Command line: run the engine without Discord (``imagine``) and check the setup (``check``).

``imagine --edit`` (or ``--mask``) runs an edit through the same engine as ``/edit``: the
``--image`` files go to the editing model, the first one being the image changed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

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
)
from bot.jobs.validation import spec_for
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.runtime import open_engine
from bot.settings import Settings

EXIT_JOB_FAILED = 1
EXIT_CONFIG = 2


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
            print(f"error: {exc.user_message}", file=sys.stderr)
            return EXIT_JOB_FAILED
        size = "auto" if request.ratio is Ratio.AUTO else f"{resolved.width}x{resolved.height}"
        model = spec_for(request, engine.spec).model_id
        what = f"edit of {len(request.references)} image(s) by {model} · " if request.edit else ""
        print(
            f"{engine.label}: {what}{size} ({resolved.resolution}) x{request.n}",
            file=sys.stderr,
        )
        async for event in engine.run(resolved.request):
            if isinstance(event, JobCompleted):
                paths = await asyncio.to_thread(_write_images, args.out, event)
                for path in paths:
                    print(path)
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
    if isinstance(event, JobSubmitted):
        return f"submitted task {event.task_id}"
    if isinstance(event, JobProgress):
        return f"{event.status} {event.percent}%"
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
    print(f"database: {settings.database_url}")
    print(
        "discord token: " + ("set" if settings.discord_token else "NOT SET (needed to run the bot)")
    )
    async with open_engine(settings, ephemeral=True) as engine:
        try:
            print(await engine.provider.check())
        except EaselError as exc:
            print(f"error: {exc.user_message}", file=sys.stderr)
            return EXIT_JOB_FAILED
    return 0
