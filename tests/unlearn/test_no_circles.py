"""No import circle inside ``musebench.unlearn``, counting imports inside functions too.

The old circle ``api -> whp -> finetuned -> api`` (today ``edit.whp``, ``edit.finetune``) was made of function-level imports (Task Vector and WHP
re-entered ``run_unlearning`` to fine-tune), so a check of top-level imports alone would not have seen it.
Run ``python -m pytest tests/unlearn/test_no_circles.py -q``; a failure prints the circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "musebench.unlearn"
SOURCE = Path(__file__).parents[2] / "src" / "musebench" / "unlearn"
#: Edges allowed to close a circle, each with its reason. ``UnlearnConfig.spec`` looks the method up in the
#: package's ``METHODS`` registry (lazily, at call time); ``Method.config_class`` names ``UnlearnConfig`` (lazily)
#: for a method without a config class of its own. The edges go when the registry has a module of its own.
ALLOWED = {("musebench.unlearn.config", "musebench.unlearn"), ("musebench.unlearn.method", "musebench.unlearn.config")}


def module_names(source: Path, package: str) -> dict[str, Path]:
    """``dotted name -> file`` of every module of the package (its ``__init__`` is the package name)."""
    names = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join((package, *parts))] = path
    return names


def import_graph(source: Path, package: str) -> dict[str, set[str]]:
    """Which modules of the package each module imports, at any level (top, function, ``TYPE_CHECKING``).

    ``from pkg import name`` points at the submodule ``pkg.name`` when there is one, else at ``pkg`` itself
    (a name its ``__init__`` defines)."""
    modules = module_names(source, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}

    def target(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package upwards
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for dotted in found:
                hit = target(dotted)
                if hit is not None and hit != name:
                    graph[name].add(hit)
    return graph


def find_circle(graph: dict[str, set[str]], allowed=frozenset()) -> list[str] | None:
    """One import circle (``[a, b, ..., a]``) of the graph without the ``allowed`` edges, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if (node, nxt) in allowed:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if state.get(nxt) is None and (circle := visit(nxt)) is not None:
                return circle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None and (circle := visit(start)) is not None:
            return circle
    return None


def test_the_circle_finder_sees_function_level_imports(tmp_path):
    """The old shape, rebuilt in miniature: api imports whp in a function, whp finetuned, finetuned api."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg.api import run\n")
    (pkg / "api.py").write_text("def run():\n    from pkg.whp import run_whp\n    return run_whp()\n")
    (pkg / "whp.py").write_text("def run_whp():\n    from pkg import finetuned\n    return finetuned.go()\n")
    (pkg / "finetuned.py").write_text("def go():\n    from .api import run\n    return run\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.whp"] == {"pkg.finetuned"} and graph["pkg.finetuned"] == {"pkg.api"}
    assert find_circle(graph) == ["pkg.api", "pkg.whp", "pkg.finetuned", "pkg.api"]
    assert find_circle(graph, allowed={("pkg.finetuned", "pkg.api")}) is None


def test_no_import_circle_inside_the_unlearn_package():
    graph = import_graph(SOURCE, PACKAGE)
    assert {f"{PACKAGE}.{m}" for names in FLOORS for m in names} <= set(graph)
    circle = find_circle(graph, ALLOWED)
    assert circle is None, "import circle: " + " -> ".join(circle)


#: The stage's floors, top down: each module may import only what is on a lower floor.
FLOORS = (
    ("api",),
    ("edit.whp", "edit.task_vector", "edit.uld"),
    ("edit.course",),
    ("edit.finetune",),
    ("training",),
    ("record",),
)


@pytest.mark.parametrize("floor", range(len(FLOORS)))
def test_nothing_imports_a_floor_above_its_own(floor):
    """Task Vector / WHP run the edit course, whose fine-tune calls training directly: nothing reaches back up
    to ``run_unlearning``, and training knows nothing of the methods built on it."""
    graph = import_graph(SOURCE, PACKAGE)
    above = {f"{PACKAGE}.{m}" for names in FLOORS[:floor] for m in names}
    for module in FLOORS[floor]:
        assert not graph[f"{PACKAGE}.{module}"] & above, f"{module} imports a floor above it"
