"""No import circles in mer_fast: the import graph of the package, read from its source with
``ast``, has no strongly connected component of more than one module.

Every import counts, at module level or inside a function (a deferred import is still a
dependency, it only hides the circle until the function runs); relative and absolute imports
alike. ``from a import b`` is an edge to ``a.b`` when ``a/b.py`` (or ``a/b/``) exists, else
to ``a`` (a name defined in ``a``, so in its ``__init__`` for a package). ``import a.b`` is an
edge to ``a.b``; importing a submodule is not counted as an edge to its parent package's
``__init__`` (Python runs it first, but a package's ``__init__`` re-exporting its own submodules
is a circle only when a submodule also imports a name from the package itself)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mer_fast"
# modules without Python source: the compiled extension (``from mer_fast import _C`` is an edge
# to it, not to the package's ``__init__``)
EXTENSIONS = {"mer_fast._C"}
# Known circles in code another change owns, left out edge by edge until it is fixed there:
# data/datasets/base.py, macro.py and megc2019.py import resolve_root / DATASETS from the
# package mer_fast.data.datasets, whose __init__ imports them (remove these lines with the fix).
EXCLUDED_EDGES = {
    ("mer_fast.data.datasets.base", "mer_fast.data.datasets"),
    ("mer_fast.data.datasets.macro", "mer_fast.data.datasets"),
    ("mer_fast.data.datasets.megc2019", "mer_fast.data.datasets"),
}


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file of the package."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The mer_fast modules that module ``name`` (source ``path``) imports anywhere in it."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def known(target: str) -> str | None:
        """``target`` or its nearest enclosing module that exists in the package."""
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mer_fast":
                    found.add(known(alias.name) or alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "mer_fast":
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                target = sub if sub in modules else known(source)
                if target:
                    found.add(target)
    found.discard(name)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (extension modules included, as leaves)."""
    files = module_files(package)
    names = set(files) | EXTENSIONS
    graph = {name: imports_of(name, path, names) & names for name, path in files.items()}
    graph.update({name: set() for name in EXTENSIONS})
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "{" + ", ".join(component) + "}: " + "; ".join(edges)


def test_graph_sees_every_kind_of_import(tmp_path):
    """The reader itself: deferred, relative, submodule and package-name imports are edges,
    and a circle through them is found."""
    pkg = tmp_path / "mer_fast"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from mer_fast.sub import leaf\nVALUE = 1\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from . import helper\n")
    (pkg / "sub" / "helper.py").write_text("import mer_fast.top\n")
    (pkg / "top.py").write_text("from mer_fast.sub import VALUE\nfrom ..outside import x\n")
    graph = import_graph(pkg)
    assert graph["mer_fast.sub"] == {"mer_fast.sub.leaf"}
    assert graph["mer_fast.sub.leaf"] == {"mer_fast.sub.helper"}
    assert graph["mer_fast.sub.helper"] == {"mer_fast.top"}
    assert graph["mer_fast.top"] == {"mer_fast.sub"}
    assert cycles(graph) == [
        ["mer_fast.sub", "mer_fast.sub.helper", "mer_fast.sub.leaf", "mer_fast.top"]
    ]


def test_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 50 and graph["mer_fast.train.trainer"]  # the whole package was read
    for a, b in EXCLUDED_EDGES:
        assert b in graph[a], f"{a} no longer imports {b}: drop it from EXCLUDED_EDGES"
        graph[a].discard(b)
    found = cycles(graph)
    assert not found, "import circles in mer_fast:\n" + "\n".join(describe(c, graph) for c in found)
