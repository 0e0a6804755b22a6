"""The package layout's rules, read from the source with ast (nothing is imported).

Arrows run one way: `cli/`, `dagster_project/` -> `pipeline/` -> `api/`, `webhooks/` (peers,
neither imports the other) -> `warehouse/` -> `transform/` -> the core modules. No import
cycles (TYPE_CHECKING and function-level imports count), no dagster in `pelcro_sync`, only
`cli/` imports the sandbox, the sandbox uses only the registry, and SQL text lives in
`pelcro_sync/warehouse/` (and `migrations/`, dbt's `analytics/`).
"""

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pelcro_sync", "pelcro_sandbox", "dagster_project")
# Rank of each wing of pelcro_sync: a module may import its own wing or a lower rank.
RANKS = {
    "core": 0,
    "transform": 1,
    "warehouse": 2,
    "api": 3,
    "webhooks": 3,
    "pipeline": 4,
    "cli": 5,
}
PEERS = {frozenset({"api", "webhooks"})}
# A string literal that reads as a SQL statement (docstrings are prose and not checked).
SQL = re.compile(
    r"\b(select\b[\s\S]+\bfrom|insert\s+into|update\s+\S+\s+set|delete\s+from"
    r"|create\s+(table|index|schema|view)|alter\s+table|drop\s+(table|schema))\b",
    re.IGNORECASE,
)

# Not SQL a program runs: the sandbox's deliberately SQL-looking customer name, served as
# data to prove it lands as text.
SQL_ALLOWED = {("pelcro_sandbox.values", "'); DROP TABLE customers;--")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return found


def _imports(name: str) -> Iterator[tuple[str, int]]:
    """Every module `name` imports (anywhere in it), resolved to a module of ours when it is
    one (`from pkg import mod` names the submodule), with the line."""
    path, tree = _sources()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in _sources() else base), node.lineno


def _ours(target: str) -> str | None:
    """The module of ours `target` is or lies in (an attribute import names its module)."""
    while target and target not in _sources():
        target = target.rpartition(".")[0]
    return target or None


def _graph() -> dict[str, set[str]]:
    return {
        name: {t for target, _ in _imports(name) if (t := _ours(target)) and t != name}
        for name in _sources()
    }


def _wing(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "pelcro_sync":
        return None
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANKS):
        return parts[1]
    return "core"


def test_the_source_is_found() -> None:
    names = set(_sources())
    assert {"pelcro_sync.config", "pelcro_sync.pipeline.sync", "pelcro_sandbox.server"} <= names
    assert {_wing(n) for n in names} - {None} == set(RANKS)


def test_there_is_no_import_cycle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_pelcro_sync_never_imports_dagster() -> None:
    found = [
        f"{name}:{line} imports {target}"
        for name in _sources()
        if name.startswith("pelcro_sync")
        for target, line in _imports(name)
        if target.split(".")[0].startswith("dagster")
    ]
    assert not found, found


def test_wings_import_only_their_own_or_lower_ones() -> None:
    wrong = []
    for name in _sources():
        wing = _wing(name)
        for target, line in _imports(name):
            other = _wing(_ours(target) or "")
            if other is None:
                if target.startswith("dagster_project") and not name.startswith("dagster_project"):
                    wrong.append(f"{name}:{line} imports {target}")
                continue
            if wing is None or other == wing:
                continue  # dagster_project and the sandbox may use what they may (below)
            if RANKS[other] > RANKS[wing] or frozenset({wing, other}) in PEERS:
                wrong.append(f"{name}:{line} ({wing}) imports {target} ({other})")
    assert not wrong, wrong


def test_only_the_cli_imports_the_sandbox() -> None:
    wrong = [
        f"{name}:{line} imports {target}"
        for name in _sources()
        if not name.startswith(("pelcro_sandbox", "pelcro_sync.cli"))
        for target, line in _imports(name)
        if target.split(".")[0] == "pelcro_sandbox"
    ]
    assert not wrong, wrong


def test_the_sandbox_uses_only_the_registry_of_pelcro_sync() -> None:
    used = {
        f"{target} ({name}:{line})"
        for name in _sources()
        if name.startswith("pelcro_sandbox")
        for target, line in _imports(name)
        if target.split(".")[0] == "pelcro_sync" and _ours(target) != "pelcro_sync.entities"
    }
    assert not used, used


def _sql_literals(tree: ast.Module) -> Iterator[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts = {
        id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
    }
    for node in ast.walk(tree):
        if id(node) in parts:
            continue  # read with its f-string
        if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, joined
            text = " ".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
        else:
            continue
        if SQL.search(text):
            yield node.lineno, " ".join(text.split())[:80]


def test_the_sql_detector_sees_sql_and_not_docstrings() -> None:
    code = '''
"""Select the fields you need from the records, then update the table and set it."""
A = "select id from t where x = 1"
B = f"DELETE FROM {table} WHERE site_id = :s"
C = "update the counts, then set the flag"
'''
    found = [text for _, text in _sql_literals(ast.parse(code))]
    assert found == ["select id from t where x = 1", "DELETE FROM WHERE site_id = :s"]


def test_sql_text_lives_only_in_the_warehouse() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for name, (path, tree) in _sources().items()
        if not name.startswith("pelcro_sync.warehouse")
        for line, text in _sql_literals(tree)
        if (name, text) not in SQL_ALLOWED
    ]
    assert not found, "\n".join(found)
