"""Which Easel this is (version and git commit) and where it keeps its state, for the first log
lines of a start: what a host needs when reading logs after an upgrade or a restore."""

from __future__ import annotations

import logging
from importlib import metadata
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # a checkout: the folder holding bot/


def version() -> str:
    """The installed package's version (pyproject's), or "unknown" when run from a bare tree."""
    try:
        return metadata.version("easel")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def git_commit(settings: Settings, checkout: Path = SOURCE_ROOT) -> str:
    """The commit this code was built from: ``EASEL_GIT_SHA`` (the image's build argument), else
    the checkout's ``HEAD`` read from ``.git`` (no ``git`` needed), else "unknown"."""
    if settings.easel_git_sha:
        return settings.easel_git_sha[:12]
    found = _checkout_head(checkout)
    return found[:12] if found else UNKNOWN


def _checkout_head(checkout: Path) -> str | None:
    """``HEAD``'s commit in a git checkout or worktree, from the files git keeps."""
    git = checkout / ".git"
    try:
        if git.is_file():  # a worktree: ".git" names its own git dir, refs live in the common one
            git = (checkout / git.read_text().removeprefix("gitdir:").strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None  # a detached HEAD is the commit itself
        ref = head.removeprefix("ref:").strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for folder in (git, common):
            if (folder / ref).is_file():
                return (folder / ref).read_text().strip()
        for line in (common / "packed-refs").read_text().splitlines():
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
    except OSError:
        return None
    return None


def log_start(settings: Settings) -> None:
    """What the bot logs first: the build, every state path (absolute), and what to watch."""
    paths = settings.state_paths.absolute()
    where = "the container image" if settings.easel_in_container else "a checkout or venv"
    log.info("Easel %s (commit %s), from %s", version(), git_commit(settings), where)
    log.info(
        "data directory %s: database %s, images %s, command fingerprint %s, backups %s",
        paths.root,
        paths.database,
        paths.files,
        paths.fingerprint,
        paths.backups,
    )
    database = paths.database
    if settings.easel_in_container and database and not database.is_relative_to(paths.root):
        log.warning(
            "the database %s is outside DATA_DIR %s: unless a volume is mounted there, it is "
            "lost with the container",
            database,
            paths.root,
        )
    if settings.sandbox and settings.discord_token is not None:
        log.warning(
            "IMAGE_PROVIDER=sandbox: members get placeholder images, labelled as the sandbox's "
            "(set an image API key to make real ones)"
        )
