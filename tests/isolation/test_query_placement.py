"""SQL lives in repositories: a query on an org-owned model may only appear in
orgs/*/repository.py or orgs/scoping.py, and raw SQL (``text(...)``) only in repositories.

Org-owned models are the tables with an ``org_id`` column (STYLE: tenancy). The check walks
the source for SQL constructors (``select``, ``update``, ``delete``, ``insert``, ``exists``,
``session.get``/``execute`` on a model) whose arguments name such a model, and for calls of
SQLAlchemy's ``text`` anywhere outside a repository (raw SQL names tables as strings, which
the first check cannot see).
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlmodel import SQLModel

import orgs.models  # noqa: F401  (registers the tables)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "orgs", "permissions", "resolvers", "schema", "workers")
SQL_CALLS = frozenset({"select", "update", "delete", "insert", "exists", "get"})
# Modules outside the rule on purpose, each with the reason.
ALLOWED_EXCEPTIONS: dict[str, str] = {}
RAW_SQL_EXCEPTIONS: dict[str, str] = {
    "orgs/models.py": "DDL fragments (server defaults, partial index conditions), no queries",
    "hub/app.py": "/readyz reads alembic_version (the schema revision, no org data)",
}


def org_owned_models() -> frozenset[str]:
    names = set()
    for mapper in SQLModel._sa_registry.mappers:
        table = mapper.local_table
        if "org_id" in table.c:
            names.add(mapper.class_.__name__)
    return frozenset(names)


def allowed(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    if rel in ALLOWED_EXCEPTIONS or rel == "orgs/scoping.py":
        return True
    parts = rel.split("/")
    return parts[0] == "orgs" and parts[-1] == "repository.py"


def offences(path: Path, models: frozenset[str], rel: str | None = None) -> list[str]:
    rel = rel or path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in SQL_CALLS:
            continue
        for arg in node.args:
            for sub in ast.walk(arg):
                if isinstance(sub, ast.Name) and sub.id in models:
                    found.append(f"{rel}:{node.lineno} {name}({sub.id} ...)")
    return found


def test_model_discovery_finds_contact() -> None:
    # when
    models = org_owned_models()
    # then
    assert {"Contact", "Consent", "ActionPage", "Campaign"} <= models


def test_no_org_owned_query_outside_repositories() -> None:
    # given
    models = org_owned_models()
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if not allowed(p)]
    # when
    found = [o for path in files for o in offences(path, models)]
    # then
    assert found == [], "queries on org-owned models belong in orgs/*/repository.py:\n" + "\n".join(
        found
    )


def test_the_check_catches_a_query(tmp_path: Path) -> None:
    # given
    bad = tmp_path / "probe.py"
    bad.write_text("from sqlalchemy import select\nq = select(col(Contact.id))\n")
    # when
    found = offences(bad, org_owned_models(), rel="resolvers/probe.py")
    # then
    assert found == ["resolvers/probe.py:2 select(Contact ...)"]


def raw_sql(path: Path, rel: str | None = None) -> list[str]:
    """Calls of ``text(...)`` imported from sqlalchemy in ``path``."""
    rel = rel or path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = any(
        isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("sqlalchemy")
        and any(alias.name == "text" for alias in node.names)
        for node in ast.walk(tree)
    )
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        direct = isinstance(func, ast.Name) and func.id == "text" and imported
        qualified = (
            isinstance(func, ast.Attribute)
            and func.attr == "text"
            and isinstance(func.value, ast.Name)
            and func.value.id in ("sa", "sqlalchemy")
        )
        if direct or qualified:
            found.append(f"{rel}:{node.lineno} text(...)")
    return found


def test_no_raw_sql_outside_repositories() -> None:
    # given
    files = [
        p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if p.name != "repository.py" and p.relative_to(ROOT).as_posix() not in RAW_SQL_EXCEPTIONS
    ]
    # when
    found = [o for path in files for o in raw_sql(path)]
    # then
    assert found == [], "raw SQL belongs in a repository:\n" + "\n".join(found)


def test_the_raw_sql_check_catches_text(tmp_path: Path) -> None:
    # given
    bad = tmp_path / "probe.py"
    bad.write_text("from sqlalchemy import text\nq = text('SELECT payload FROM contact')\n")
    # when
    found = raw_sql(bad, rel="workers/probe.py")
    # then
    assert found == ["workers/probe.py:2 text(...)"]


def test_orgs_never_import_workers() -> None:
    # DESIGN §3: workers sit on top of orgs/, never under it
    offenders = [
        f"{p.relative_to(ROOT).as_posix()}:{node.lineno}"
        for p in (ROOT / "orgs").rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "workers")
        or (
            isinstance(node, ast.Import)
            and any(alias.name.split(".")[0] == "workers" for alias in node.names)
        )
    ]
    assert offenders == []
