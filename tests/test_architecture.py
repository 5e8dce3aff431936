"""The shape of the package holds: no import cycle inside ``cms/``, ``auth/`` and ``config``
know no services, and the README's project map lists every package and top-level module.

The import graph is read from the source with ``ast``: every import of a ``cms`` module counts,
at module level or inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cms"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """``{module: {modules of the package it imports}}`` for every module under ``package_dir``."""
    root = package_dir.parent
    files = {_module_name(root, p): p for p in package_dir.rglob("*.py")}
    known = set(files)

    def resolve(target: str) -> str | None:
        # ``from cms.services import audit`` names the module cms.services.accounts.audit; ``from
        # cms.errors import NotFound`` names cms.errors: the longest known prefix.
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = resolve(target)
                if resolved and resolved != name:
                    found.add(resolved)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    """The check itself can fail: a lazy import closing a loop is a cycle, named by its modules."""
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": "def f():\n    from . import c\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "from pkg import a\n",
        },
    )
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_cms_has_no_import_cycle():
    found = cycles(import_graph(PACKAGE))
    assert not found, "import cycles in cms/: " + "; ".join(" <-> ".join(g) for g in found)


def test_config_imports_nothing_of_cms():
    assert import_graph(PACKAGE)["cms.config"] == set()


def test_auth_imports_no_service():
    """Neither directly nor through what it imports."""
    graph = import_graph(PACKAGE)
    auth = [name for name in graph if name == "cms.auth" or name.startswith("cms.auth.")]
    assert auth
    offending = {
        name: sorted(m for m in reachable(graph, name) if m.startswith("cms.services"))
        for name in auth
    }
    assert not any(offending.values()), offending


def _project_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Project layout", 1)[1]
    return section.split("```", 2)[1]


def _mapped_paths() -> set[str]:
    return set(re.findall(r"^(cms/\S*)", _project_map(), flags=re.MULTILINE))


def test_the_readme_project_map_lists_every_package_and_top_level_module():
    packages = {
        f"{path.parent.relative_to(ROOT).as_posix()}/"
        for path in PACKAGE.rglob("__init__.py")
        if path.parent != PACKAGE
    }
    modules = {path.relative_to(ROOT).as_posix() for path in PACKAGE.glob("*.py")}
    missing = sorted((packages | modules) - _mapped_paths())
    assert not missing, f"README.md's project map lacks: {', '.join(missing)}"


def test_everything_the_readme_project_map_names_exists():
    stale = sorted(p for p in _mapped_paths() if not (ROOT / p).exists())
    assert not stale, f"README.md's project map names what is gone: {', '.join(stale)}"
