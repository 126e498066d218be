"""Migrations are frozen history: they never import live code that may change
(services, api, schemas), so an old revision's output never changes."""
from pathlib import Path

import reinfer_clone.migrations

from .test_import_rules import imported_modules

MIGRATIONS = Path(reinfer_clone.migrations.__file__).parent
LIVE = ("reinfer_clone.services", "reinfer_clone.api", "reinfer_clone.schemas")


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
