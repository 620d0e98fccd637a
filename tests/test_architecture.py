"""The layers stay honest: the engine and its parts never import discord."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISCORD_FREE = ["bot/jobs", "bot/providers", "bot/media", "bot/store", "bot/policy", "bot/sandbox"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", DISCORD_FREE)
def test_engine_layers_never_import_discord(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "discord"
        )
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", DISCORD_FREE)
def test_engine_layers_never_import_cogs(package: str) -> None:
    for path in (ROOT / package).rglob("*.py"):
        assert not any(m.split(".")[0] == "cogs" for m in imported_modules(path)), path


DOMAINS_WITHOUT_STORE = [
    "bot/jobs",
    pytest.param(
        "bot/policy",
        marks=pytest.mark.xfail(
            strict=True,
            reason="bot/policy/service.py imports bot.store.policy until the PolicyStore protocol",
        ),
    ),
]


@pytest.mark.parametrize("package", DOMAINS_WITHOUT_STORE)
def test_domains_never_import_the_store_that_implements_them(package: str) -> None:
    """The domain owns its records and store protocols; ``bot.store`` depends on it, never back."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in store_imports(path) if m == "bot.store" or m.startswith("bot.store.")
        )
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def store_imports(path: Path) -> set[str]:
    """Imported modules, counting ``from bot import store`` as ``bot.store`` (type-only too)."""
    names = imported_modules(path)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "bot" and node.level == 0:
            names.update(f"bot.{alias.name}" for alias in node.names)
    return names
