"""The package's imports run one way: no module imports one that imports it back."""

import ast
import pathlib

import skce

ROOT = pathlib.Path(skce.__file__).parent


def _graph():
    """module -> skce modules it imports (relative imports, __init__ excluded as
    nodes, as they only re-export)."""
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = ("skce",) + path.relative_to(ROOT).with_suffix("").parts
        mods[path] = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    graph = {m: set() for p, m in mods.items() if p.name != "__init__.py"}
    for path, module in mods.items():
        if path.name == "__init__.py":
            continue
        package = module.rsplit(".", 1)[0].split(".")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                for name in [target] + [f"{target}.{a.name}" for a in node.names]:
                    if name in graph and name != module:
                        graph[module].add(name)
    return graph


def _cycles(graph):
    found, done, stack = [], set(), []

    def visit(m):
        if m in stack:
            found.append(stack[stack.index(m):] + [m])
            return
        if m in done:
            return
        stack.append(m)
        for t in sorted(graph[m]):
            visit(t)
        stack.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)
    return found


def test_no_import_cycles():
    graph = _graph()
    assert "skce._fit" in graph and "skce.backends._dask" in graph
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_layers_run_one_way():
    """The loss engine and the objective never import the estimators, the driver
    or the back ends."""
    graph = _graph()
    upper = {"skce._base", "skce._fit", "skce._problem", "skce._softmax",
             "skce._weighted", "skce.backends._memory", "skce.backends._dask"}
    for low in ("skce._loss", "skce._focal", "skce._objective", "skce._xp"):
        assert not graph[low] & upper, (low, graph[low] & upper)


def test_module_map_names_every_module():
    """docs/developers.rst lists every module with its responsibility."""
    docs = ROOT.parent / "docs" / "developers.rst"
    if not docs.exists():  # an installed copy without docs/
        return
    text = docs.read_text()
    modules = sorted(str(p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py"))
    missing = [m for m in modules if f"``{m}``" not in text]
    assert missing == []
