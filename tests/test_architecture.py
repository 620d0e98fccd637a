"""The layers stay honest: the engine and its parts never import discord."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISCORD_FREE = [
    "bot/jobs",
    "bot/providers",
    "bot/media",
    "bot/store",
    "bot/policy",
    "bot/sandbox",
    "local_discord",
]


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


# --- The local Discord is a component of its own: it and the product never lean on each other. ---


@dataclass(frozen=True)
class ImportSite:
    """One import statement (or ``importlib.import_module("...")`` call) and where it runs."""

    module: str  # absolute dotted name; ``from a import b`` gives ``a`` and ``a.b``
    line: int
    lazy: bool  # inside a function body, so it runs on a call, not when the module loads


def _absolute(path: Path, root: Path, module: str | None, level: int) -> str:
    """Resolve a relative ``from`` import against the package the file lives in."""
    if level == 0:
        return module or ""
    package = list(path.relative_to(root).parts[:-1])  # a/b/c.py and a/b/__init__.py: a.b
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def import_sites(path: Path, root: Path = ROOT) -> list[ImportSite]:
    """Every import in ``path`` with its line, walking the whole tree (functions, classes, ifs)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    sites: list[ImportSite] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.Import):
            sites.extend(ImportSite(a.name, node.lineno, lazy) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, root, node.module, node.level)
            sites.append(ImportSite(module, node.lineno, lazy))
            sites.extend(
                ImportSite(f"{module}.{a.name}".lstrip("."), node.lineno, lazy)
                for a in node.names
                if a.name != "*"
            )
        elif (
            isinstance(node, ast.Call)
            and _names_import_function(node.func)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            sites.append(ImportSite(node.args[0].value, node.lineno, lazy))
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, lazy=False)
    return sites


def _names_import_function(func: ast.expr) -> bool:
    """``importlib.import_module``, a bare ``import_module`` or ``__import__``."""
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}


def _is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def offenders(
    packages: list[str],
    forbidden: list[str],
    *,
    allow_lazy_in: tuple[str, ...] = (),
    root: Path = ROOT,
) -> list[str]:
    """``file:line imports module`` for each import of a ``forbidden`` package in ``packages``.

    An import inside a function body is allowed only in files under ``allow_lazy_in``.
    """
    found: list[str] = []
    for package in packages:
        files = sorted((root / package).rglob("*.py"))
        assert files, f"{package} has no modules"
        for path in files:
            relative = path.relative_to(root).as_posix()
            lazy_ok = any(
                relative == f"{p}.py" or relative.startswith(f"{p}/") for p in allow_lazy_in
            )
            found.extend(
                f"{relative}:{site.line} imports {site.module}"
                for site in import_sites(path, root)
                if any(_is_under(site.module, f) for f in forbidden) and not (site.lazy and lazy_ok)
            )
    return sorted(set(found))


def test_the_local_discord_never_imports_the_product() -> None:
    """It is a fake of Discord, written from Discord's behaviour: neither the bot nor its cogs."""
    assert offenders(["local_discord"], ["bot", "cogs", "discord"]) == []


def test_the_bot_imports_the_local_discord_only_lazily_from_the_playground() -> None:
    """The Discord path never loads the fake; only a playground entry point may, on a call."""
    assert offenders(["bot", "cogs"], ["local_discord"], allow_lazy_in=("bot/playground",)) == []


def test_import_sites_see_every_form_of_import(tmp_path: Path) -> None:
    """Module-level, class-level, TYPE_CHECKING, relative, lazy and importlib imports all count."""
    package = tmp_path / "bot" / "playground"
    package.mkdir(parents=True)
    source = package / "entry.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import local_discord.server as s\n"
        "from local_discord import LocalDiscord\n"
        "from .. import cogs\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from local_discord.state import World\n"
        "class Room:\n"
        "    import local_discord\n"
        "def start() -> None:\n"
        "    from local_discord import LocalDiscord\n"
        "    importlib.import_module('local_discord.gateway')\n"
    )
    sites = {(s.module, s.line, s.lazy) for s in import_sites(source, tmp_path)}
    assert {
        ("local_discord.server", 2, False),
        ("local_discord", 3, False),
        ("local_discord.LocalDiscord", 3, False),
        ("bot.cogs", 4, False),
        ("bot.playground.sibling", 5, False),
        ("local_discord.state", 7, False),
        ("local_discord", 9, False),
        ("local_discord", 11, True),
        ("local_discord.gateway", 12, True),
    } <= sites


def test_import_checks_name_each_offender_with_file_and_line(tmp_path: Path) -> None:
    """A violation fails the checks above: only a playground function may import the fake."""
    files = {
        "bot/playground/__init__.py": "def main() -> None:\n    import local_discord\n",
        "bot/playground/app.py": "from local_discord import LocalDiscord\n",
        "bot/client.py": "import os\n\n\ndef run() -> None:\n    import local_discord.server\n",
        "cogs/imagine.py": "from local_discord.models import User\n",
        "local_discord/server.py": "import discord\nfrom bot.jobs import engine\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    assert offenders(
        ["bot", "cogs"], ["local_discord"], allow_lazy_in=("bot/playground",), root=tmp_path
    ) == [
        "bot/client.py:5 imports local_discord.server",
        "bot/playground/app.py:1 imports local_discord",
        "bot/playground/app.py:1 imports local_discord.LocalDiscord",
        "cogs/imagine.py:1 imports local_discord.models",
        "cogs/imagine.py:1 imports local_discord.models.User",
    ]
    assert offenders(["local_discord"], ["bot", "cogs", "discord"], root=tmp_path) == [
        "local_discord/server.py:1 imports discord",
        "local_discord/server.py:2 imports bot.jobs",
        "local_discord/server.py:2 imports bot.jobs.engine",
    ]


DOMAINS_WITHOUT_STORE = ["bot/jobs", "bot/policy"]


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


def test_the_product_package_never_imports_the_discord_glue() -> None:
    """``bot/`` loads the extensions by name; ``cogs`` plugs itself in from their ``setup``."""
    assert offenders(["bot"], ["cogs"]) == []


# --- No import cycles anywhere: every arrow points one way. ---

CYCLE_CHECKED = ["bot", "cogs", "local_discord", "bench"]


def module_files(packages: list[str], root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every module under ``packages``."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(packages: list[str], root: Path = ROOT) -> dict[str, set[str]]:
    """Each module → the modules of ``packages`` it imports, lazily or not, type-only or not."""
    modules = module_files(packages, root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for site in import_sites(path, root):
            target = site.module
            while target and target not in modules:  # ``from a.b import name`` → ``a.b``
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(f"{target}."):
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others() -> None:
    """Any import cycle, even one hidden behind ``TYPE_CHECKING`` or a function body, fails."""
    assert cycles(import_graph(CYCLE_CHECKED)) == []


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import thing\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from pkg import a\n")
    (tmp_path / "pkg" / "c.py").write_text("import pkg.a\n")
    assert cycles(import_graph(["pkg"], tmp_path)) == [["pkg.a", "pkg.b"]]
