"""The package's import graph: no circles, and the layering of docs/architecture.md.

Every module of ``src/musebench`` is parsed with ``ast`` (nothing is imported, so this runs in a second).
Imports are kept in three kinds: ``top`` (run when the module is imported: the module body, including
``try`` / ``if`` blocks and class bodies), ``lazy`` (inside a function: run when it is called) and ``typing``
(under ``if TYPE_CHECKING:``: never run). A circle among ``top`` imports breaks an import; one that closes
only through a ``typing`` import is refused too (two modules that need each other's names are one idea); the
layering rules hold for ``top`` and ``lazy`` alike, since a lazy import upward is still a dependency upward.

Print the graph between packages (and any circle) with:

    python tests/test_import_graph.py            # package -> packages, top-level and lazy imports apart
    python tests/test_import_graph.py --modules  # every module's own imports
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "musebench"
KINDS = ("top", "lazy", "typing")

# The floors of docs/architecture.md. A package may import the shared modules, itself, and what its entry
# names. ``None``: the package may import anything (the command layer on top).
SHARED = {"musebench", "errors", "io", "console", "versions", "criteria", "schema", "pages"}
MAY_IMPORT: dict[str, set[str] | None] = {
    "data": set(),  # the ground floor (its shared modules too are restricted, below)
    "results": set(),  # the results.json schema: written by experiment, read by report / commands
    "models": {"data"},
    "evaluate": {"data", "models"},
    "unlearn": {"data", "models"},
    "robustness": {"data", "models", "evaluate", "unlearn"},
    "experiment": {"data", "models", "evaluate", "unlearn", "robustness", "results"},
    "audit": {"data", "models", "evaluate", "unlearn", "robustness"},
    "report": {"data", "results"},  # report reads saved results through the results schema, never experiment
    "commands": None,
    "cli": None,
}
DATA_SHARED = {"musebench", "errors", "io", "criteria", "schema"}  # data/ imports only these of the shared modules
NEVER = {("evaluate", "unlearn"), ("unlearn", "evaluate")}  # at any level, stated separately in the docs
NOBODY_IMPORTS = {"cli", "commands", "audit"}  # entry points and the audit sit on top (commands call them)
# Known edges against the floors, each with its reason. The run's backend builds the report after
# results.json is written (lazily, through report's one public function; report never imports the runner).
EXCEPTIONS = {("musebench.experiment.adapters", "musebench.report", "lazy")}


@dataclass
class Module:
    name: str
    path: Path
    imports: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> set[str]:
    """The dotted names an import statement names: ``from a import b`` gives ``a.b``, which ``resolve``
    turns into the module ``a.b`` when there is one, else ``a`` (``b`` is then a name defined in ``a``)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return {f"{base}.{a.name}" for a in node.names}


def collect(tree: ast.AST, module: str, is_package: bool) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {k: set() for k in KINDS}

    def walk(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found[kind].update(imported_names(child, module, is_package))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, "lazy" if kind == "top" else kind)
            elif isinstance(child, ast.If) and is_type_checking(child.test):
                for stmt in child.body:
                    walk(ast.Module(body=[stmt], type_ignores=[]), "typing")
                for stmt in child.orelse:
                    walk(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                walk(child, kind)

    walk(tree, "top")
    return found


def load_modules(src: Path = SRC) -> dict[str, Module]:
    paths = sorted((src / ROOT).rglob("*.py"))
    modules = {module_name(p, src): Module(module_name(p, src), p) for p in paths}
    for mod in modules.values():
        raw = collect(
            ast.parse(mod.path.read_text(encoding="utf-8"), str(mod.path)), mod.name, mod.path.name == "__init__.py"
        )
        for kind, names in raw.items():
            mod.imports[kind] = {resolve(n, modules) for n in names if n.split(".")[0] == ROOT} - {None, mod.name}
    return modules


def resolve(name: str, modules: dict[str, Module]) -> str | None:
    """The module a dotted name lands in: itself, else its longest prefix that is a module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def package_of(module: str) -> str:
    """The first-level package (``data``, ``unlearn``, ...) or shared module (``errors``) of a module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` as ``[a, b, ..., a]``, or None. An edge from a module to the ``__init__`` of
    a package holding it is left out: Python has that package half-imported already, which is fine."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, set()) & graph.keys()):
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layering_problems(modules: dict[str, Module]) -> list[str]:
    problems = []
    for mod in modules.values():
        own = package_of(mod.name)
        for kind in ("top", "lazy"):
            for target in sorted(mod.imports[kind]):
                other = package_of(target)
                if other == own or (mod.name, target, kind) in EXCEPTIONS:
                    continue
                if (own, other) in NEVER:
                    problems.append(f"{mod.name} imports {target} ({kind}): {own} never imports {other}")
                elif other in NOBODY_IMPORTS and own not in ("commands", "cli"):
                    problems.append(f"{mod.name} imports {target} ({kind}): nothing below it imports {other}")
                elif own == "data" and other not in DATA_SHARED:
                    problems.append(f"{mod.name} imports {target} ({kind}): data/ imports nothing above it")
                elif own in MAY_IMPORT and MAY_IMPORT[own] is not None and other not in SHARED | MAY_IMPORT[own]:
                    problems.append(
                        f"{mod.name} imports {target} ({kind}): {own} may import only "
                        f"{', '.join(sorted(MAY_IMPORT[own])) or 'the shared modules'}"
                    )
                elif own not in MAY_IMPORT and own not in SHARED:
                    problems.append(f"{mod.name}: package {own!r} has no layering rule (add it to MAY_IMPORT)")
                elif own in SHARED and own != "musebench" and other not in SHARED:
                    problems.append(f"{mod.name} imports {target} ({kind}): shared modules import only each other")
    return sorted(set(problems))


def top_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    return {name: set(mod.imports["top"]) for name, mod in modules.items()}


def package_graph(modules: dict[str, Module], kind: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for mod in modules.values():
        own = package_of(mod.name)
        graph.setdefault(own, set()).update(package_of(t) for t in mod.imports[kind] if package_of(t) != own)
    return graph


# ----- the tests -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return load_modules()


def test_every_module_is_parsed(modules):
    assert len(modules) > 100 and "musebench.data.loaders" in modules and "musebench.cli" in modules
    assert modules["musebench.data.loaders"].imports["top"] >= {"musebench.data.hub", "musebench.errors"}


def test_no_import_circle_among_top_level_imports(modules):
    assert find_cycle(top_graph(modules)) is None


def test_no_import_circle_even_through_type_checking_imports(modules):
    """A circle hidden under ``if TYPE_CHECKING:`` still ties two modules into one: it is refused too."""
    graph = {name: mod.imports["top"] | mod.imports["typing"] for name, mod in modules.items()}
    assert find_cycle(graph) is None


def test_checker_finds_a_circle_through_a_type_checking_import(tmp_path):
    src = make_tree(
        tmp_path,
        {
            "__init__.py": "",
            "results/__init__.py": "",
            "results/records.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from musebench.results.robustness import R\n",
            "results/robustness.py": "from musebench.results.records import Interval\n",
        },
    )
    mods = load_modules(src)
    assert find_cycle(top_graph(mods)) is None
    graph = {name: mod.imports["top"] | mod.imports["typing"] for name, mod in mods.items()}
    assert find_cycle(graph) == [
        "musebench.results.records",
        "musebench.results.robustness",
        "musebench.results.records",
    ]


def test_data_hub_and_loaders_do_not_import_each_other(modules):
    hub, loaders = modules["musebench.data.hub"], modules["musebench.data.loaders"]
    every = set().union
    assert "musebench.data.loaders" not in every(*hub.imports.values())
    assert "musebench.data.hub" in loaders.imports["top"]  # one direction only


def test_layering_of_the_architecture_document(modules):
    assert layering_problems(modules) == []


def test_evaluate_and_unlearn_never_import_each_other_at_any_level(modules):
    crossing = [
        f"{m.name} -> {t}"
        for m in modules.values()
        for kind in KINDS
        for t in m.imports[kind]
        if (package_of(m.name), package_of(t)) in NEVER
    ]
    assert crossing == []


def test_every_package_has_a_rule(modules):
    packages = {package_of(name) for name in modules}
    assert packages - set(MAY_IMPORT) - SHARED == set()


def test_run_lock_is_filelock(modules):
    lock = modules["musebench.experiment.lock"]
    assert "musebench.io" in lock.imports["top"]
    io_source = modules["musebench.io"].path.read_text(encoding="utf-8")
    assert "from filelock import" in io_source or "import filelock" in io_source
    assert "fcntl" not in io_source and "fcntl" not in lock.path.read_text(encoding="utf-8")


# ----- the checker itself, on hand-made cases ------------------------------------------------------------
def make_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_checker_sorts_imports_by_kind_and_resolves_relative_ones(tmp_path):
    src = make_tree(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "from .a import thing\n",
            "data/a.py": "from typing import TYPE_CHECKING\nimport musebench.errors\n"
            "if TYPE_CHECKING:\n    from musebench.models import m\n"
            "def f():\n    from ..evaluate import engine\n"
            "class C:\n    from . import b\n",
            "data/b.py": "",
            "errors.py": "",
            "models/__init__.py": "",
            "evaluate/__init__.py": "",
            "evaluate/engine.py": "",
        },
    )
    mods = load_modules(src)
    a = mods["musebench.data.a"].imports
    assert a["top"] == {"musebench.errors", "musebench.data.b"}
    assert a["lazy"] == {"musebench.evaluate.engine"}
    assert a["typing"] == {"musebench.models"}
    assert mods["musebench.data"].imports["top"] == {"musebench.data.a"}
    problems = layering_problems(mods)
    assert problems == ["musebench.data.a imports musebench.evaluate.engine (lazy): data/ imports nothing above it"]


def test_checker_finds_a_circle_but_not_a_package_init_edge(tmp_path):
    src = make_tree(
        tmp_path,
        {
            "__init__.py": "",
            "unlearn/__init__.py": "from musebench.unlearn.api import run\n",
            "unlearn/api.py": "import musebench.unlearn\nfrom musebench.unlearn.whp import w\n",
            "unlearn/whp.py": "from musebench.unlearn.finetuned import f\n",
            "unlearn/finetuned.py": "def g():\n    from musebench.unlearn.api import run\n",
        },
    )
    mods = load_modules(src)
    assert find_cycle(top_graph(mods)) is None  # api -> unlearn/__init__ is not a circle; the lazy edge is not
    (tmp_path / ROOT / "unlearn" / "finetuned.py").write_text("from musebench.unlearn.api import run\n")
    cycle = find_cycle(top_graph(load_modules(src)))
    assert cycle == [
        "musebench.unlearn.api",
        "musebench.unlearn.whp",
        "musebench.unlearn.finetuned",
        "musebench.unlearn.api",
    ]


def test_checker_flags_evaluate_importing_unlearn_and_imports_of_commands(tmp_path):
    src = make_tree(
        tmp_path,
        {
            "__init__.py": "",
            "unlearn/__init__.py": "",
            "commands/__init__.py": "",
            "commands/run.py": "",
            "evaluate/__init__.py": "def f():\n    import musebench.unlearn\n",
            "models/__init__.py": "from musebench.commands import run\n",
        },
    )
    problems = layering_problems(load_modules(src))
    assert problems == [
        "musebench.evaluate imports musebench.unlearn (lazy): evaluate never imports unlearn",
        "musebench.models imports musebench.commands.run (top): nothing below it imports commands",
    ]


# ----- a command to print the graph ----------------------------------------------------------------------
def main(argv: list[str]) -> int:
    mods = load_modules()
    if "--modules" in argv:
        for name, mod in sorted(mods.items()):
            for kind in KINDS:
                if mod.imports[kind]:
                    print(f"{name} [{kind}] -> {', '.join(sorted(mod.imports[kind]))}")
    else:
        top, lazy = package_graph(mods, "top"), package_graph(mods, "lazy")
        for package in sorted(top):
            extra = sorted(lazy.get(package, set()) - top[package])
            line = f"{package:<11} -> {', '.join(sorted(top[package])) or '-'}"
            print(line + (f"   (lazy only: {', '.join(extra)})" if extra else ""))
    cycle = find_cycle(top_graph(mods))
    problems = layering_problems(mods)
    print(f"\n{len(mods)} modules; top-level import circle: {' -> '.join(cycle) if cycle else 'none'}")
    for p in problems:
        print(f"layering: {p}")
    print(f"layering problems: {len(problems)}")
    return 1 if cycle or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
