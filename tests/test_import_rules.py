"""Layers point one way (docs/../ARCHITECTURE.md): api -> services -> models /
classifier, schemas beside api, `vocabulary` and `wire` at the bottom.

Read from the source (the AST), not from sys.modules, so imports inside
functions count as much as those at the top of a module.
"""
import ast
from pathlib import Path

import pytest

import reinfer_clone

PACKAGE = Path(reinfer_clone.__file__).parent
ROOT = PACKAGE.parent


def module_name(path: Path) -> str:
    if not path.is_relative_to(ROOT):
        return path.stem  # a file outside the package: only its absolute imports resolve
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, name: str | None = None) -> set[str]:
    """Every module `path` imports, anywhere in it, as absolute dotted names
    (`from x import y` yields both `x` and `x.y`: y may be a module)."""
    name = name or module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules(under: str) -> dict[str, Path]:
    folder = PACKAGE.joinpath(*under.split(".")[1:])
    paths = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
    return {module_name(p): p for p in paths}


def within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# (importers, what they must not import)
RULES = [
    ("reinfer_clone.schemas", ("reinfer_clone.services",)),
    ("reinfer_clone.services", ("flask", "reinfer_clone.api")),
    ("reinfer_clone.classifier", ("sqlalchemy", "flask")),
    ("reinfer_clone.migrations", ("reinfer_clone.services",)),
    # The bottom: shared words and the wire format lean on nothing above them.
    ("reinfer_clone.vocabulary", ("reinfer_clone.services", "reinfer_clone.schemas", "reinfer_clone.api",
                                  "reinfer_clone.models", "flask", "sqlalchemy", "marshmallow")),
    ("reinfer_clone.wire", ("reinfer_clone.services", "reinfer_clone.schemas", "reinfer_clone.api",
                            "reinfer_clone.models", "flask", "sqlalchemy", "marshmallow")),
]


def violations(importers: str, forbidden) -> dict[str, list[str]]:
    out = {}
    for name, path in modules(importers).items():
        bad = sorted(m for m in imported_modules(path, name) if within(m, forbidden))
        if bad:
            out[name] = bad
    return out


@pytest.mark.parametrize("importers, forbidden", RULES, ids=[r[0] for r in RULES])
def test_layer_rule(importers, forbidden):
    assert modules(importers), f"{importers} has no modules: the rule would check nothing"
    assert violations(importers, forbidden) == {}


def import_graph(prefix: str) -> dict[str, set[str]]:
    """module -> the modules under `prefix` it imports; importing a submodule
    runs its packages' __init__ first, unless the importer is inside them."""
    nodes = modules(prefix)
    graph = {}
    for name, path in nodes.items():
        edges = set()
        for target in imported_modules(path, name):
            while target and target not in nodes:  # `from .x import func` -> module x
                target = target.rpartition(".")[0]
            if not target or target == name:
                continue
            edges.add(target)
            parent = target.rpartition(".")[0]
            while parent.startswith(prefix + ".") and parent != name and not name.startswith(parent + "."):
                edges.add(parent)
                parent = parent.rpartition(".")[0]
        graph[name] = edges
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as its path (first node repeated at the end), or None."""
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node)
        if found:
            return found
    return None


def test_services_import_each_other_without_cycles():
    assert cycle_in(import_graph("reinfer_clone.services")) is None


# --- the checker itself sees what it must ---------------------------------------------------

def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    probe = tmp_path / "reinfer_clone" / "schemas" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def f():\n    from ..services import query\n    import flask\n")
    found = imported_modules(probe, "reinfer_clone.schemas.probe")
    assert {"reinfer_clone.services", "reinfer_clone.services.query", "flask"} <= found
    assert within("reinfer_clone.services.query", ("reinfer_clone.services",))


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle_in(graph) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) is None
