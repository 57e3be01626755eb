"""The package's shape as a test: no import cycles (function-level imports count), a short top
level, and the import-linter layer contract of pyproject.toml when lint-imports is installed."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "remedia_tray"
MAX_TOP_LEVEL_MODULES = 12
#: Past these a module or a function does too many things to be read at once (issue 22).
MAX_MODULE_LINES = 600
MAX_COMPLEXITY = 30


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        if "templates" in rel.parts or "__pycache__" in rel.parts:
            continue  # files installed into file managers, not modules of the package
        name = ".".join(rel.parts).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module `name` imports, wherever the statement is (functions included).

    Imports under `if TYPE_CHECKING:` never run, so they are left out.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from pkg import mod` imports pkg.mod; `from pkg import name` imports pkg.
            candidates = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
            components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    graph = import_graph()
    # a relative import at module level, and one inside a function
    assert "remedia_tray.core.planning" in graph["remedia_tray.sorter"]
    assert "remedia_tray.review.writer" in graph["remedia_tray.sorter"]


def test_no_import_cycles() -> None:
    cycles = [c for c in _strongly_connected(import_graph()) if len(c) > 1]
    assert cycles == []


def test_a_cycle_would_be_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in _strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]


def test_top_level_stays_small() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_is_over_600_lines() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert len(_modules()) > 50 and not long, long


def _complexity(source: str) -> dict[str, int]:
    cc = pytest.importorskip("radon.complexity", reason="radon is a dev tool")
    return {b.fullname: b.complexity for b in cc.cc_visit(source)}


def test_radon_sees_a_branchy_function() -> None:
    branches = "".join(f"    if x == {k}:\n        return {k}\n" for k in range(30))
    assert _complexity(f"def f(x):\n{branches}    return -1\n") == {"f": 31}


def test_no_function_is_over_complexity_30() -> None:
    over = {
        f"{name}.{fn}": c
        for name, path in _modules().items()
        for fn, c in _complexity(path.read_text(encoding="utf-8")).items()
        if c > MAX_COMPLEXITY
    }
    assert not over, over


def test_layer_contract() -> None:
    lint_imports = shutil.which("lint-imports") or shutil.which(
        "lint-imports", path=str(Path(sys.executable).parent)
    )
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install 'remedia-tray[dev]')")
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.run(
        [lint_imports],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# Modules whose loading runs code named by the data: pickle and its relatives.
_UNPICKLERS = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "jsonpickle", "marshal",
               "shelve", "multiprocessing.reduction"}  # fmt: skip


def _unpickling(tree: ast.AST) -> list[str]:
    """Where a module could unpickle what a peer sends (line: what), by its syntax alone.

    Flags imports of pickle and its relatives (also by importlib/__import__ with a literal
    name), `allow_pickle=True`, and `send`/`recv` in a module that uses multiprocessing (its
    connections pickle them; `send_bytes`/`recv_bytes` do not). A `recv()` without arguments
    is a connection's anywhere: a socket's needs a size.
    """
    found: list[str] = []
    uses_multiprocessing = False
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
            ("import_module", "__import__")
        ):
            names = [a.value for a in node.args[:1] if isinstance(a, ast.Constant)]
            names = [n for n in names if isinstance(n, str)]
        uses_multiprocessing |= any(n.split(".")[0] == "multiprocessing" for n in names)
        bad = [n for n in names if n in _UNPICKLERS or n.split(".")[0] in _UNPICKLERS]
        if bad:
            found.append(f"{node.lineno}: imports {bad[0]}")
    for node in ast.walk(tree):
        if (
            uses_multiprocessing
            and isinstance(node, ast.Attribute)
            and node.attr in ("send", "recv")
        ):
            found.append(f"{node.lineno}: .{node.attr} in a module using multiprocessing")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "recv" and not node.args:
                found.append(f"{node.lineno}: .recv() of a connection")
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    found.append(f"{node.lineno}: allow_pickle={ast.unparse(kw.value)}")
    return sorted(set(found), key=lambda f: int(f.split(":")[0]))


def test_nothing_unpickles_what_a_peer_sends() -> None:
    # The hand-off once used multiprocessing's send/recv: whoever could take its socket could
    # make `remedia sort` unpickle, that is run, their code. The decoding worker pool pickles
    # inside concurrent.futures, between our own processes: not a peer's data, out of scope.
    found = {
        name: hits
        for name, path in _modules().items()
        if (hits := _unpickling(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}
    samples = {
        "import pickle": 1,
        "from cPickle import loads": 1,
        "import importlib\nimportlib.import_module('dill')": 1,
        "np.load(p, allow_pickle=True)": 1,
        "from multiprocessing.connection import Client\nClient(a).send({})": 1,
        "import multiprocessing.connection as c\nf = c.Client(a).recv": 1,
        "conn.recv()": 1,
        "from multiprocessing.connection import Client\nc.send_bytes(b'')\nc.recv_bytes(9)": 0,
        "import socket\nsock.recv(4)\nsock.send(b'')": 0,
        "np.load(p, allow_pickle=False)": 0,
    }
    assert {code: len(_unpickling(ast.parse(code))) for code in samples} == samples
