"""The corridors between the rooms (docs/architecture.md, "Layout"), checked on the source:

- the core (``shardy/`` but its wings and tools) never imports ``shardy.orchestrator``,
  ``shardy.workers`` or ``shardy.ops`` at module level;
- the orchestrator and the workers never import each other, nor the operator tools;
- nothing imports a top-level ``orchestrator`` or ``workers`` (they install inside ``shardy``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WINGS = ("shardy.orchestrator", "shardy.workers", "shardy.ops")


def _sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "node_modules" not in p.parts)


def _core() -> list[Path]:
    tools = ROOT / "shardy" / "ops"
    return [p for p in _sources("shardy") if tools not in p.parents]


def _imports(path: Path, *, module_level: bool) -> Iterator[tuple[int, str]]:
    """(line, imported module) of each import; only module-level ones when asked (imports
    under ``if TYPE_CHECKING:`` count as module level too: they must not name a wing either)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level else list(ast.walk(tree))
    if module_level:
        nodes = [n for top in nodes for n in (ast.walk(top) if isinstance(top, ast.If) else [top])]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _named(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(paths: list[Path], banned: tuple[str, ...], *, module_level: bool) -> list[str]:
    return [
        f"{p.relative_to(ROOT)}:{line} imports {mod}"
        for p in paths
        for line, mod in _imports(p, module_level=module_level)
        if _named(mod, banned)
    ]


def test_the_core_never_imports_its_wings_at_module_level():
    assert _core(), "no core modules found"
    assert _violations(_core(), WINGS, module_level=True) == []


@pytest.mark.parametrize(
    ("folder", "banned"),
    [
        ("orchestrator", ("shardy.workers", "shardy.ops")),
        ("workers", ("shardy.orchestrator", "shardy.ops")),
    ],
)
def test_the_wings_never_import_each_other_or_the_tools(folder, banned):
    assert _sources(folder)
    assert _violations(_sources(folder), banned, module_level=False) == []


def test_nothing_imports_a_top_level_orchestrator_or_workers():
    folders = ("shardy", "orchestrator", "workers", "tests", "bench")
    paths = [p for f in folders for p in _sources(f)]
    assert _violations(paths, ("orchestrator", "workers"), module_level=False) == []


def test_the_checker_sees_what_it_forbids(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\nfrom shardy.orchestrator import dispatch\nif True:\n    import workers.gpu\n"
        "def f():\n    from shardy.ops import cli\n"
    )
    top = [m for _, m in _imports(bad, module_level=True)]
    everywhere = [m for _, m in _imports(bad, module_level=False)]
    assert "shardy.orchestrator" in top and "workers.gpu" in top and "shardy.ops" not in top
    assert "shardy.ops" in everywhere
    assert _named("shardy.orchestrator.dispatch", WINGS) and not _named("shardy.orchestra", WINGS)
