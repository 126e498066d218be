"""Migrations are frozen history: they never import live code that may change
(services, api, schemas), so an old revision's output never changes."""
import ast
from pathlib import Path

import reinfer_clone.migrations

MIGRATIONS = Path(reinfer_clone.migrations.__file__).parent
LIVE = ("reinfer_clone.services", "reinfer_clone.api", "reinfer_clone.schemas")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to reinfer_clone/migrations[/versions]
                package = path.relative_to(MIGRATIONS.parent.parent).parent.parts
                base = ".".join(package[:len(package) - node.level + 1] + ((base,) if base else ()))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_migrations_import_no_live_code():
    files = sorted(MIGRATIONS.rglob("*.py"))
    assert MIGRATIONS / "env.py" in files and len(list((MIGRATIONS / "versions").glob("0*.py"))) >= 6
    offending = {str(f.relative_to(MIGRATIONS)): sorted(m for m in imported_modules(f) if m.startswith(LIVE))
                 for f in files}
    assert {f: m for f, m in offending.items() if m} == {}


def test_the_rule_sees_absolute_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from reinfer_clone.services import search\nimport reinfer_clone.api.support\n")
    assert {"reinfer_clone.services.search", "reinfer_clone.api.support"} <= imported_modules(probe)
    assert {"reinfer_clone.db", "reinfer_clone.models"} <= imported_modules(MIGRATIONS / "env.py")
