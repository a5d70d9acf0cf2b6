"""Import directions that the layering relies on, read from the source (not from what happens to be
imported at run time)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_warehouse_db_and_migrate_do_not_import_each_other() -> None:
    assert "warehouse.migrate" not in imported_modules(ROOT / "warehouse" / "db.py")
    assert "warehouse.connect" not in imported_modules(ROOT / "warehouse" / "migrate.py")
    assert {"warehouse.db", "warehouse.migrate"} <= imported_modules(ROOT / "warehouse" / "connect.py")


def test_the_check_reads_function_level_imports_too(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from warehouse.migrate import require_current\n", encoding="utf-8")
    assert "warehouse.migrate" in imported_modules(sample)
