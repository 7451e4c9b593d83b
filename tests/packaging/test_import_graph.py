"""The package's import graph: no cycles at module level, and lower layers never import upper ones.

The graph is read from the source with :mod:`ast` (nothing is imported), so a cycle that
happens to work because of one import order still fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import cellucid

ROOT = Path(cellucid.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _targets(node: ast.AST, here: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """The cellucid modules one import statement loads (a ``from pkg import sub`` loads ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative import
        base = here.split(".") if is_package else here.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    found = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in modules]
    if len(found) < len(node.names) and name in modules:
        found.append(name)
    return found


def import_graph(module_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = tree.body if module_level_only else ast.walk(tree)
        edges = set()
        for node in nodes:
            if module_level_only and isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports do not run
                continue
            edges.update(_targets(node, name, path.name == "__init__.py", modules))
        graph[name] = edges - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# Deferred imports inside one function, within one package, that only break a start-up
# cost (never an order dependence): the gene lookup is loaded on the first gene request,
# and `--embed` (scanpy) only when a file needs it.
LAZY_CYCLES_ALLOWED = [
    ["cellucid.data.base", "cellucid.data.genes"],
    ["cellucid.data._open", "cellucid.data.embed"],
]


def test_no_import_cycles_between_modules():
    assert cycles(import_graph(module_level_only=True)) == []


def test_deferred_imports_hide_no_other_cycle():
    # A function-level import that closes a loop (server/state → warm → handlers → state)
    # works only because of import order; only the listed lazy loads are allowed.
    assert sorted(cycles(import_graph(module_level_only=False))) == sorted(LAZY_CYCLES_ALLOWED)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_lower_layers_never_import_upper_ones_even_inside_functions():
    upper = {
        "cellucid.data": ("cellucid.server", "cellucid.export", "cellucid.widget", "cellucid.analysis",
                          "cellucid.annotation", "cellucid.cli"),
        "cellucid.analysis": ("cellucid.server", "cellucid.widget", "cellucid.cli"),
        "cellucid.annotation": ("cellucid.server", "cellucid.widget"),
        "cellucid.export": ("cellucid.server", "cellucid.widget"),
    }
    graph = import_graph(module_level_only=False)
    wrong = sorted(
        (module, target)
        for module, targets in graph.items()
        for layer, forbidden in upper.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    )
    assert wrong == []


def test_every_module_imports():
    # A name imported from a module that no longer defines it (after a move) fails only
    # when that module is first imported; import them all here.
    import importlib

    failures = {}
    for name in sorted(_modules()):
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - collected and reported together
            failures[name] = repr(error)
    assert failures == {}


JS_SRC = Path(__file__).resolve().parents[2] / "js" / "src"
JS_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^'"]*?from\s+["']([^"']+)["']""", re.M)


def js_imports() -> dict[str, set[str]]:
    """Each viewer module (relative to js/src) → the js/src modules it imports."""
    graph = {}
    for path in JS_SRC.rglob("*.js"):
        here = path.relative_to(JS_SRC).as_posix()
        targets = set()
        for spec in JS_IMPORT.findall(path.read_text(encoding="utf-8")):
            if spec.startswith("."):
                targets.add((path.parent / spec).resolve().relative_to(JS_SRC.resolve()).as_posix())
        graph[here] = targets
    return graph


def test_viewer_state_data_and_bridge_never_import_the_ui():
    # ui/ renders what state/ holds; the layers below it must work without any panel.
    graph = js_imports()
    assert "bridge/bridge.js" in graph and "state/session.js" in graph  # the scan saw the tree
    below_ui = ("state/", "data/", "bridge/", "render/", "camera/", "color/", "interaction/", "figure/")
    wrong = sorted((m, t) for m, ts in graph.items() if m.startswith(below_ui) for t in ts if t.startswith("ui/"))
    assert wrong == []
