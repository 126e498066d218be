"""Turn a CSV file into comments of a source.

Two streaming passes, so memory stays flat on any size: the first decides which
columns are numbers (every non-empty value parses as a finite float), the second
syncs rows in batches.
"""
from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from typing import Callable, Iterator

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..schemas.comments import parse_comments
from ..schemas.fields import describe
from ..wire import parse_datetime
from . import comments as comments_service
from . import sources as sources_service


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _parse_timestamp(value: str, line: int) -> str:
    try:
        return parse_datetime(value).isoformat()
    except ValueError:
        pass
    try:
        # A CSV export often has naive or date-only values: read them as UTC.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"Line {line}: '{value}' is not a date or datetime.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat()


def scan(path: str, text_column: str, id_column: str | None, timestamp_column: str | None):
    """First pass: check the named columns exist; find numeric columns; count rows."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        for option, name in (("--text-column", text_column), ("--id-column", id_column),
                             ("--timestamp-column", timestamp_column)):
            if name is not None and name not in columns:
                raise InvalidInput(
                    f"{option}: no column '{name}' in {path}; its columns are: "
                    + ", ".join(repr(c) for c in columns)
                )
        others = [c for c in columns if c not in (text_column, id_column, timestamp_column)]
        numeric = {c: True for c in others}
        seen = {c: False for c in others}
        rows = 0
        for row in reader:
            rows += 1
            for c in others:
                value = (row.get(c) or "").strip()
                if value:
                    seen[c] = True
                    if numeric[c] and not _is_number(value):
                        numeric[c] = False
    return {c for c in others if numeric[c] and seen[c]}, others, rows


def comments_from_csv(path, text_column, id_column, timestamp_column, numeric, others) -> Iterator[dict]:
    now = datetime.now(timezone.utc).isoformat()
    with open(path, newline="", encoding="utf-8-sig") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            properties = {}
            for c in others:
                value = (row.get(c) or "").strip()
                if value:
                    properties[f"number:{c}" if c in numeric else f"string:{c}"] = (
                        float(value) if c in numeric else value
                    )
            comment = {
                "id": (row.get(id_column) or "").strip() if id_column else f"row-{line - 1}",
                "timestamp": _parse_timestamp(row[timestamp_column].strip(), line)
                if timestamp_column else now,
                "messages": [{"body": {"text": row.get(text_column) or ""}}],
            }
            if properties:
                comment["user_properties"] = properties
            yield comment


def import_csv(
    session: Session, project: str, source_name: str, path: str, text_column: str,
    id_column: str | None = None, timestamp_column: str | None = None,
    batch_size: int = 1024, progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """`on_total` hears the row count once the first pass has it; `progress`, each batch.

    A job of its own: each batch is committed as it lands (a large file is not
    one transaction, and the batches before a bad row stay)."""
    source = sources_service.get_by_name(session, project, source_name)
    numeric, others, rows = scan(path, text_column, id_column, timestamp_column)
    if on_total:
        on_total(rows)
    totals = {"new": 0, "updated": 0, "unchanged": 0}
    batch: list[dict] = []
    done = 0

    def flush():
        nonlocal done
        try:
            records = parse_comments(batch)
        except ValidationError as error:
            raise InvalidInput(f"Rows {done + 1} to {done + len(batch)}: {describe(error)}") from None
        counts = comments_service.sync(session, source, records)
        session.commit()
        for key in totals:
            totals[key] += counts[key]
        done += len(batch)
        if progress:
            progress(len(batch))
        batch.clear()

    for comment in comments_from_csv(path, text_column, id_column, timestamp_column, numeric, others):
        batch.append(comment)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return totals
