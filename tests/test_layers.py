"""The house keeps its plan: no module imports a module of a higher layer, and no import
circle anywhere. The layers, lowest first, are pplx_cli.LAYERS (and pplx_cli/__init__.py's
docstring says them); the imports are read from the code, those inside functions included."""

import ast
from pathlib import Path

import pplx_cli

PACKAGE = Path(pplx_cli.__file__).parent


def modules() -> dict:
    """Module name -> path, for every module of the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known) -> set:
    """The package's modules that ``name`` imports (a ``from X import Y`` of a module Y counts as Y)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("pplx_cli"):
                found.add(target)
                break
    return found


def layer_of(name: str) -> int:
    """A module's layer: the index in LAYERS of the first entry that names it or its folder."""
    short = name.removeprefix("pplx_cli.") if name != "pplx_cli" else ""
    for index, members in enumerate(pplx_cli.LAYERS):
        for member in members.split():
            if short == member or short.startswith(member + "."):
                return index
    raise AssertionError(f"{name} is in no layer of pplx_cli.LAYERS")


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


def test_every_module_is_in_a_layer_and_the_docstring_says_the_layers():
    for name in GRAPH:
        if name != "pplx_cli":
            layer_of(name)
    for members in pplx_cli.LAYERS:
        assert members in pplx_cli.__doc__, members


def test_no_module_imports_a_higher_layer():
    upward = [f"{name} -> {target}" for name, targets in GRAPH.items() for target in targets
              if name != "pplx_cli" and target != "pplx_cli" and layer_of(target) > layer_of(name)]
    assert upward == []


def test_no_import_circle():
    circles = []

    def visit(node, path):
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt == path[0]:
                circles.append(" -> ".join(path + [nxt]))
            elif nxt not in path and len(path) < 8 and nxt != "pplx_cli":
                visit(nxt, path + [nxt])

    for start in GRAPH:
        if start != "pplx_cli":
            visit(start, [start])
    assert circles == []


def test_few_modules_at_the_top_none_too_long():
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 8, top
    for name, path in modules().items():
        lines = path.read_text("utf-8").count("\n")
        assert lines <= 400, f"{name} has {lines} lines"
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{name}.{node.name} has {length} lines"


def test_no_dict_of_options_crosses_out_of_commands():
    """Below commands/ options travel as the typed values of pplx_cli.choices: no module reads
    a dict of command options (``p.get(...)``, ``p["..."]``)."""
    import re

    readers = []
    for name, path in modules().items():
        if name.startswith(("pplx_cli.commands", "pplx_cli.cli")):
            continue
        if re.search(r"(?<![\w.])p(?:\.get\(|\[\")", path.read_text("utf-8")):
            readers.append(name)
    assert readers == []
