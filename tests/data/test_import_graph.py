"""``data/`` is the ground floor: it imports nothing above it, and its modules form no import circle.

Walks the source with ``ast`` (every import, including those inside functions), so a lazy import upward
fails here too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import musebench.data

DATA_ROOT = Path(musebench.data.__file__).parent
ABOVE_DATA = ("models", "unlearn", "evaluate", "experiment", "report", "commands", "cli", "robustness", "audit")


def _module_name(path: Path) -> str:
    rel = path.relative_to(DATA_ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["musebench", *parts])


def _imports(path: Path, module: str) -> set[str]:
    """Every musebench module ``path`` imports (``from a import b`` counts ``a.b`` when that is a module)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith("musebench")}


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in DATA_ROOT.rglob("*.py")}
    return {name: _imports(path, name) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle among the modules of ``graph`` (module-level edges only between its own nodes)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node] & graph.keys()):
            if nxt == node or node.startswith(nxt + "."):  # a module reaching into its own package's __init__
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_data_imports_nothing_above_it():
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if target.split(".")[1] in ABOVE_DATA
    )
    assert upward == []


def test_no_import_circle_inside_data():
    assert _cycle(import_graph()) is None


def test_cycle_finder_sees_a_circle():
    graph = {"musebench.data.a": {"musebench.data.b"}, "musebench.data.b": {"musebench.data.a"},
             "musebench.data.c": set()}
    assert _cycle(graph) == ["musebench.data.a", "musebench.data.b", "musebench.data.a"]
