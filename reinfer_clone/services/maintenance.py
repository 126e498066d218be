"""Keeps PostgreSQL's planner statistics fresh for our tables.

A table that has never been analysed (a fresh install being bulk-loaded, or a
server with autovacuum off or behind) is planned with default selectivities:
a page of 256 comments then costs a scan and sort of the whole source instead
of one index range. The training worker (a thread in every server process, or
`reinfer-clone worker`) calls `analyze_stale` between jobs; an advisory lock
lets one process at a time do it. It is cheap when nothing changed, and
harmless next to autovacuum, which uses the same kind of threshold.
"""
from __future__ import annotations

import logging

from sqlalchemy import text

from ..db import Database

log = logging.getLogger(__name__)

# Analyse once this many rows plus this share of the table changed since the last analysis.
BASE_THRESHOLD = 500
SCALE_FACTOR = 0.1
_LOCK_KEY = 0x7265_696E_6665_72  # "reinfer"

_STALE = text("""
    SELECT relname FROM pg_stat_user_tables
    WHERE schemaname = current_schema()
      AND n_mod_since_analyze > :base + :scale * GREATEST(n_live_tup, 0)
    ORDER BY relname
""")


def analyze_stale(database: Database) -> list[str]:
    """ANALYZE the tables of our schema whose statistics are stale; returns their names."""
    if database.dialect != "postgresql":
        return []
    with database.engine.connect() as connection:
        if not connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}):
            return []
        tables = list(connection.scalars(_STALE, {"base": BASE_THRESHOLD, "scale": SCALE_FACTOR}))
        for table in tables:
            connection.execute(text(f'ANALYZE "{table}"'))
        connection.commit()
    if tables:
        log.info("analysed %s", ", ".join(tables))
    return tables
