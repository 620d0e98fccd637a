#!/usr/bin/env python3
"""Easel's two commands, on a machine with nothing but Python 3.11+ and the package registry.

    python3 dev.py run [ARGS]   run the bot (or `run imagine ...`, `run check`)
    python3 dev.py test [ARGS]  lint, format check, type check, and the whole test suite

Both create ``.venv`` and install the project into it the first time (and again whenever
``pyproject.toml`` changes), then run inside it. Extra ARGS go to ``python -m bot`` or pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
PYTEST_NO_TESTS = 5


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


def run(command: list[str]) -> None:
    """Run a step; stop with its exit code if it fails."""
    code = subprocess.call(command, cwd=ROOT)
    if code != 0:
        sys.exit(code)


def main(argv: list[str]) -> int:
    """Dispatch ``run`` or ``test``."""
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        ensure_environment("")
        return subprocess.call([str(PYTHON), "-m", "bot", *rest], cwd=ROOT)
    ensure_environment("[test]")
    run([str(BIN / "ruff"), "check", "."])
    run([str(BIN / "ruff"), "format", "--check", "."])
    run([str(BIN / "mypy")])
    code = subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: failing, a suite that runs nothing proves nothing.")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
