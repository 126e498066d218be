"""Planner statistics upkeep (services.maintenance), run by the training worker."""
import time

from sqlalchemy import text

from reinfer_clone.services import maintenance

from ..helpers import comment, make_project, make_source, ok, sync


def _stale_after_flush(database, timeout=10.0):
    """analyze_stale once the writers' table counters have reached the
    statistics system (PostgreSQL publishes them within about a second)."""
    deadline = time.monotonic() + timeout
    while True:
        analysed = maintenance.analyze_stale(database)
        if analysed or time.monotonic() > deadline:
            return analysed
        time.sleep(0.2)


def test_stale_tables_are_analysed_once(admin, database):
    make_project(admin, "acme")
    make_source(admin, "acme", "inbox")
    for start in range(0, 700, 100):
        ok(sync(admin, [comment(i) for i in range(start, start + 100)]))
    if database.dialect != "postgresql":
        # SQLite plans these queries from its indexes alone: nothing to do.
        assert maintenance.analyze_stale(database) == []
        return
    assert "comments" in _stale_after_flush(database)
    with database.engine.connect() as conn:
        analysed_at, reltuples = conn.execute(text(
            "SELECT s.last_analyze, c.reltuples FROM pg_stat_user_tables s "
            "JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'comments'")).one()
    assert analysed_at is not None and reltuples == 700
    # Fresh statistics: nothing left to do until the table changes by 10 % again.
    assert "comments" not in maintenance.analyze_stale(database)
