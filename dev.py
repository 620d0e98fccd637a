#!/usr/bin/env python3
"""Easel's developer commands, on a machine with nothing but Python 3.11+ and the package registry.

    python3 dev.py run [ARGS]   run the bot; without DISCORD_TOKEN, the playground in a browser
                                (or `run imagine ...`, `run check`)
    python3 dev.py test [ARGS]  lint, format check, type check, and the whole test suite
    python3 dev.py lock         pin the image's dependencies again (requirements*.lock)
    python3 dev.py i18n         extract new text into the translation catalogs, list what is left

Both create ``.venv`` and install the project into it the first time (and again whenever
``pyproject.toml`` changes), then run inside it. Extra ARGS go to ``python -m bot`` or pytest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
PYTEST_NO_TESTS = 5
# The container image's Python and OS: the locks pin what installs there, with every file's hash.
LOCK_TARGET = ["--python-version", "3.11", "--python-platform", "linux", "--generate-hashes"]

# What the tests need from the operating system: {a binary on PATH, or a path (globs allowed):
# the Debian package that provides it}. Installed with apt-get when missing and running as root
# (CI on a fresh Debian machine); otherwise the command to run is printed.
SYSTEM_PACKAGES = {
    # A throwaway PostgreSQL for the store tests (tests/support/postgres.py).
    "/usr/lib/postgresql/*/bin/initdb": "postgresql",
    # The playground's browser tests drive it with Playwright, which never downloads a browser.
    "/usr/bin/chromium": "chromium",
}


def ensure_environment(extras: str) -> None:
    """Create the venv and install the project with ``extras`` unless already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any install; say why
        sys.exit(f"Easel needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    stamp = VENV / f".installed{extras or '-base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"installing Easel{extras} and its dependencies into .venv …", file=sys.stderr)
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f".{extras}"])
    stamp.write_text(digest)


def ensure_system_packages(needed: dict[str, str] = SYSTEM_PACKAGES) -> None:
    """Install the Debian packages whose binaries are missing (apt-get, as root)."""
    missing = sorted({package for wanted, package in needed.items() if not _present(wanted)})
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None or os.name == "nt" or os.geteuid() != 0:
        print(
            f"missing system packages: {' '.join(missing)}. Install them (on Debian: "
            f"sudo apt-get install {' '.join(missing)}); the tests that need them will fail.",
            file=sys.stderr,
        )
        return
    print(f"installing {' '.join(missing)} with apt-get …", file=sys.stderr)
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [apt, "update", "--quiet"],
        [apt, "install", "--yes", "--quiet", "--no-install-recommends", *missing],
    ):
        code = subprocess.call(command, env=quiet, stdout=subprocess.DEVNULL)
        if code != 0:
            sys.exit(f"`{' '.join(command)}` failed ({code}).")


def _present(wanted: str) -> bool:
    """A path (globs allowed) that exists, or a binary on PATH."""
    if "/" in wanted:
        return any(Path("/").glob(wanted.lstrip("/")))
    return shutil.which(wanted) is not None


def run(command: list[str]) -> None:
    """Run a step; stop with its exit code if it fails."""
    code = subprocess.call(command, cwd=ROOT)
    if code != 0:
        sys.exit(code)


def lock() -> int:
    """Write ``requirements.lock`` (pyproject's dependencies) and ``requirements-build.lock``
    (what builds Easel's wheel), pinned with hashes for the image (``pip --require-hashes``)."""
    ensure_environment("")
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "uv>=0.5,<1"])
    compile_ = [str(BIN / "uv"), "pip", "compile", *LOCK_TARGET, "--quiet", "--upgrade"]
    compile_ += ["--custom-compile-command", "python3 dev.py lock"]
    run([*compile_, "pyproject.toml", "-o", "requirements.lock"])
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    return subprocess.run(
        [*compile_, "-", "-o", "requirements-build.lock"],
        input="\n".join(build),
        text=True,
        cwd=ROOT,
        check=False,
    ).returncode


def parallel(args: list[str]) -> list[str]:
    """pytest-xdist workers for the run, unless ``args`` choose (``-n``, ``-p no:xdist``).

    Most of the suite's time is spent waiting (bot processes, timers, a browser), so a third
    worker on two cores still shortens it; ``EASEL_TEST_WORKERS`` overrides the count. Tests of
    one file stay on one worker: their module fixtures start servers once.
    """
    chosen = any(a in ("-n", "--numprocesses", "no:xdist") or a.startswith("-n") for a in args)
    if chosen:
        return []
    workers = os.environ.get("EASEL_TEST_WORKERS") or str((os.cpu_count() or 1) + 1)
    return ["-n", workers, "--dist", "loadfile"]


def main(argv: list[str]) -> int:
    """Dispatch ``run``, ``test``, ``lock`` or ``i18n``."""
    if not argv or argv[0] not in {"run", "test", "lock", "i18n"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "lock":
        return lock()
    if command == "run":
        ensure_environment("")
        return subprocess.call([str(PYTHON), "-m", "bot", *rest], cwd=ROOT)
    if command == "i18n":
        ensure_environment("")
        return subprocess.call([str(PYTHON), "-m", "cogs._catalog", *rest], cwd=ROOT)
    ensure_environment("[test]")
    ensure_system_packages()
    run([str(BIN / "ruff"), "check", "."])
    run([str(BIN / "ruff"), "format", "--check", "."])
    run([str(BIN / "mypy")])
    code = subprocess.call([str(PYTHON), "-m", "pytest", *parallel(rest), *rest], cwd=ROOT)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: failing, a suite that runs nothing proves nothing.")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
