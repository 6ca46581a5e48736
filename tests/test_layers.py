"""Imports run downward only: the spine every domain package shares.

    base (vocabulary, db, errors, audit, pagination, ...) → */models → auth/policy
    → */rules (lifecycle tables) → */schemas → */reads (the one reader of each
    resource) → */service (commands) → web glue (deps, guards) → router / pages / cli
    → the app itself (main, cli, demo)

A module may import any module of a lower layer. Within one layer it may import its
own package, or a package that comes earlier in PACKAGES, never a later one: so no two
domain packages can import each other, at any layer. Every app module must be named by
a layer here, and no app module imports inside a function (a late import is how a
cycle hides), except the command lines, which keep start-up light.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

LAYERS = ["base", "models", "policy", "rules", "schemas", "reads", "service", "glue", "surface"]
LAYERS.append("entry")

# The layer of each module, by its dotted name below app (a package's own modules by
# their last name; a sub-package by its name).
BY_NAME = {
    "models": "models",
    "policy": "policy",
    "rules": "rules",
    "workflow": "rules",
    "overdue": "rules",
    "completeness": "rules",  # what a draft lacks before it is issued
    "parser": "rules",  # pure functions over text: no database
    "replies": "rules",  # what a reply cable says: pure functions
    "syntax": "rules",  # the search box's syntax and snippets: pure functions
    "ddl": "base",  # the search index's statements: SQL text, no imports
    "schemas": "schemas",
    "reads": "reads",
    "records": "reads",
    "inbox": "reads",
    "history": "reads",
    "listing": "reads",
    "queries": "reads",
    "results": "reads",  # the results roll-up: the one reader of its page, API and files
    "calendar": "reads",  # a user's calendar feed, read as its owner
    "exports": "reads",  # the roll-up written as CSV and XLSX: no database, only the reader's rows
    "registry": "reads",
    "telegram": "reads",  # cables the tracker drafts, from what their reader may read
    "credentials": "reads",
    "service": "service",
    "throttle": "service",  # sign-in counters: commands, like service
    "amendments": "service",
    "ingest": "service",
    "drafting": "service",
    "matching": "service",
    "review": "service",
    "outbox": "service",  # the notification writers the domain services call
    "worker": "service",  # the worker's checks and deliveries
    "mailer": "rules",  # what a message says, and the SMTP hand-over: no database
    "passwords": "base",
    "guards": "glue",
    "forms": "glue",  # a page form read into a schema's shape (it may look up posts)
    "router": "surface",
    "pages": "surface",
    "chasing": "surface",  # the desk's pages of taskings
    "admin": "surface",  # the administrator's pages over users and tokens
    "cli": "surface",
}
TOP_LEVEL = {
    "vocabulary": "base",
    "settings": "base",
    "db": "base",
    "classification": "base",
    "errors": "base",
    "audit": "base",
    "pagination": "base",
    "concurrency": "base",
    "http": "base",
    "forms": "base",
    "limits": "base",
    "headers": "base",
    "revisions": "base",
    "clock": "base",
    "logs": "base",
    "metrics": "base",
    "models": "models",
    "idempotency": "glue",
    "deps": "glue",
    "web": "glue",
    "handlers": "glue",
    "health": "surface",
    "apidocs": "surface",
    "openapi": "surface",
    "backup": "surface",
    "serving": "surface",
    "observability": "surface",
    "main": "entry",
    "cli": "entry",
    "demo": "entry",
}
# Domain packages, in the order a same-layer import may run (later may import earlier).
# notifications comes before the domains whose services write to its outbox; search
# reads every domain's models and the policy, and the lists read it (q=).
PACKAGES = [
    "posts",
    "auth",
    "notifications",
    "search",
    "demarches",
    "taskings",
    "cables",
    "dashboards",
]
LATE_IMPORTS_ALLOWED = {"app.cli", "app.cables.cli"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def place(module: str) -> tuple[int, int] | None:
    """(layer, package order) of an app module; None for a package's empty __init__.

    The modules at the top of app/ are one package that comes before every domain, but
    for app.models, which gathers every domain's models for Alembic, and comes after."""
    parts = module.split(".")[1:]
    if not parts:
        return None
    if len(parts) == 1:
        if parts[0] in PACKAGES:
            return None  # a domain package's __init__
        order = len(PACKAGES) if parts[0] == "models" else -1
        return LAYERS.index(TOP_LEVEL[parts[0]]), order
    package, inner = parts[0], parts[1]
    return LAYERS.index(BY_NAME[inner]), PACKAGES.index(package)


def _imports(tree: ast.AST, module: str) -> list[tuple[str, int, bool]]:
    """(imported app module, line, inside a function) for every import in the tree."""
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolve against this module's package
                    pkg = module.split(".")
                    pkg = pkg[: len(pkg) - child.level + (1 if _is_package(module) else 0)]
                    base = ".".join([*pkg, base] if base else pkg)
                if base == "app" or base.startswith("app."):
                    names = [f"{base}.{a.name}" for a in child.names]
                    out.extend((_resolve(n, base), child.lineno, in_function) for n in names)
            elif isinstance(child, ast.Import):
                out.extend(
                    (a.name, child.lineno, in_function)
                    for a in child.names
                    if a.name == "app" or a.name.startswith("app.")
                )
            visit(child, inner)

    visit(tree, False)
    return out


_MODULES = _modules()


def _is_package(module: str) -> bool:
    return _MODULES[module].name == "__init__.py"


def _resolve(name: str, base: str) -> str:
    """`from app.x import y`: y is a module if app.x.y is one, else a name in app.x."""
    return name if name in _MODULES else base


def violations() -> list[str]:
    problems = []
    for module, path in sorted(_MODULES.items()):
        try:
            here = place(module)
        except (KeyError, ValueError):
            problems.append(f"{module}: no layer names it (add it to tests/test_layers.py)")
            continue
        for target, line, late in _imports(ast.parse(path.read_text()), module):
            if target == module or target.startswith(module + "."):
                continue
            if late and module not in LATE_IMPORTS_ALLOWED:
                problems.append(f"{module}:{line} imports {target} inside a function")
            try:
                there = place(target)
            except (KeyError, ValueError):
                continue  # reported as its own module
            if here is None or there is None:
                continue
            same_package = there[1] == here[1]
            if there[0] < here[0] or (there[0] == here[0] and (same_package or there[1] < here[1])):
                continue
            problems.append(
                f"{module}:{line} ({LAYERS[here[0]]}) imports {target} ({LAYERS[there[0]]}): "
                "upward, or a later package at the same layer"
            )
    return problems


def test_imports_run_downward_only():
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """A model that imports a service, and a package importing a later one at the same
    layer, are both caught: the test above can fail."""
    fake = {
        **_MODULES,
        "app.demarches.models": tmp_path / "models.py",
        "app.taskings.reads": tmp_path / "reads.py",
    }
    (tmp_path / "models.py").write_text("from app.taskings.service import deliver\n")
    (tmp_path / "reads.py").write_text("def f():\n    from app.cables.reads import get_visible\n")
    monkeypatch.setitem(globals(), "_MODULES", fake)
    found = violations()
    assert any(
        v.startswith("app.demarches.models:1 (models) imports app.taskings.service") for v in found
    )
    assert any(
        "app.taskings.reads:2 imports app.cables.reads inside a function" in v for v in found
    )
    assert any("app.taskings.reads:2 (reads) imports app.cables.reads" in v for v in found)
