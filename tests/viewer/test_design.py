"""The viewer's shape, checked: small modules and functions, the state written only where it may be, imports
that point one way, and a panel added the documented way."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

VIEWER = ROOT / "viewer"
OTHERS = {"bundle.py", "catalog.py", "picture.py", "gif.py"}  # owned elsewhere: not held to these checks
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
WRITERS = ("viewer/state/", "viewer/events.py")  # the only code that assigns to the state


def modules() -> list[Path]:
    return [
        path
        for path in sorted(VIEWER.rglob("*.py"))
        if path.name not in OTHERS and "bundle" not in path.relative_to(VIEWER).parts[:-1]
    ]


def name_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_over_400_lines_and_no_function_over_60():
    long_modules, long_functions = [], []
    for path in modules():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(path.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.name}:{node.name}")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def _state_targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    else:
        return []
    flat = []
    for target in targets:
        flat += target.elts if isinstance(target, ast.Tuple) else [target]
    return flat


def _reads_state(target: ast.AST) -> bool:
    """`state.x`, `state.group.x`, or `state.group.x[i]`."""
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return isinstance(target, ast.Name) and target.id == "state"


def test_only_the_state_actions_and_the_event_handler_assign_to_the_state():
    writes = []
    for path in modules():
        where = str(path.relative_to(ROOT))
        if where.startswith(WRITERS):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            for target in _state_targets(node):
                if isinstance(target, (ast.Attribute, ast.Subscript)) and _reads_state(target):
                    writes.append(f"{where}:{node.lineno}")
    assert not writes, writes


def imports_of(path: Path) -> set[str]:
    """Every module the file imports, at the top or inside functions."""
    found = set()
    package = name_of(path) if path.name == "__init__.py" else name_of(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_no_import_cycles_and_nothing_heavy():
    graph = {}
    for path in sorted(VIEWER.rglob("*.py")):
        graph[name_of(path)] = imports_of(path)
    heavy = {
        name: sorted(i for i in found if i.split(".")[0] in ("torch", "training", "export"))
        for name, found in graph.items()
    }
    assert not any(heavy.values()), heavy
    edges = {name: {i for i in found if i in graph and i != name} for name, found in graph.items()}
    for name in graph:  # a module imports its package's __init__ first: that is not a cycle of its own making
        edges[name] = {i for i in edges[name] if not name.startswith(i + ".")}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for child in sorted(edges[node]):
            if state.get(child) == "open":
                cycles.append(trail[trail.index(child) :] + [child] if child in trail else [node, child])
            elif child not in state:
                visit(child, [*trail, child])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles
