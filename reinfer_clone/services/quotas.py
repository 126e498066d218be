"""Tenant quotas (contract section 19.2): hard limits on how many objects of a
kind may exist, checked at commit time inside the writing transaction.

Enforcement is driven by services/audit.py's change tracker: a transaction
that inserted objects of a kind locks that kind (a PostgreSQL advisory lock;
SQLite already has one writer at a time), counts what the transaction would
leave behind, and is refused whole if that crosses the limit. Counting after
the lock is taken, in READ COMMITTED, sees every earlier writer's committed
rows, so concurrent writers cannot both slip under the limit.
"""
from __future__ import annotations

import zlib

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound, ServiceError
from ..models import (
    Labelling, Bucket, Comment, Dataset, DatasetSource, LabelDef, LabelGroup, ModelTag, Project,
    Quota, Source, Stream, User,
)

TENANT_ID = "0000000000000000"
# What "no limit" looks like on the wire: the client reads hard_limit as a
# 32-bit integer, so unlimited is its largest value.
UNLIMITED = 2**31 - 1

# Every kind the official client knows, in its order.
KINDS = (
    "sources", "sources_per_dataset", "datasets", "datasets_per_source", "labels_per_dataset",
    "entities_per_dataset", "comments", "comments_per_source", "reviewed_comments_per_dataset",
    "integrations", "mailboxes_per_integration", "triggers", "triggers_per_dataset", "users",
    "alerts", "buckets", "projects", "pinned_models", "extraction_predictions",
)
# Limits that hold until an admin sets another (docs/decisions.md, "Quotas"): a
# model's size and training time grow with labels x features.
DEFAULT_LIMITS = {"labels_per_dataset": 1024}


class QuotaExceeded(ServiceError):
    status = 422


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"Unknown quota kind '{kind}': expected one of {', '.join(KINDS)}.",
                           field="quota_kind")


def check_tenant(tenant_id: str) -> None:
    if tenant_id != TENANT_ID:
        raise NotFound(f"Tenant '{tenant_id}' not found.")


def limits(session: Session) -> dict[str, tuple[int, int | None]]:
    """kind -> (hard limit, auto_increase_up_to) for every kind."""
    stored = {q.kind: (q.hard_limit, q.auto_increase_up_to) for q in session.scalars(select(Quota))}
    return {kind: stored.get(kind, (DEFAULT_LIMITS.get(kind, UNLIMITED), None)) for kind in KINDS}


def set_limit(session: Session, kind: str, hard_limit: int, auto_increase_up_to: int | None) -> None:
    check_kind(kind)
    quota = session.get(Quota, kind)
    if quota is None:
        session.add(Quota(kind=kind, hard_limit=hard_limit, auto_increase_up_to=auto_increase_up_to))
    else:
        quota.hard_limit = hard_limit
        quota.auto_increase_up_to = auto_increase_up_to
    session.flush()


# --- usage ---------------------------------------------------------------
# Tenant-wide kinds: a COUNT of the table.
_TOTALS = {
    "sources": Source, "datasets": Dataset, "comments": Comment, "triggers": Stream,
    "users": User, "buckets": Bucket, "projects": Project, "pinned_models": ModelTag,
}
# Per-object kinds: the scope column (and conditions) of a grouped COUNT.
_PER = {
    "sources_per_dataset": (DatasetSource.dataset_id,),
    "datasets_per_source": (DatasetSource.source_id,),
    "labels_per_dataset": (LabelGroup.dataset_id,),
    "comments_per_source": (Comment.source_id,),
    "reviewed_comments_per_dataset": (Labelling.dataset_id, Labelling.reviewed.is_(True)),
    "triggers_per_dataset": (Stream.dataset_id,),
}


def _grouped(kind: str, scopes=None):
    """(scope, n) rows of a per-object kind, restricted to `scopes` when given."""
    column, *where = _PER[kind]
    query = select(column.label("scope"), func.count().label("n")).where(*where)
    if kind == "labels_per_dataset":  # label defs reach their dataset through their group
        query = query.select_from(LabelDef).join(LabelGroup, LabelDef.group_pk == LabelGroup.pk)
    if scopes is not None:
        query = query.where(column.in_(sorted(scopes)))
    return query.group_by(column)


def _entities(session: Session, scopes=None) -> dict[str, int]:
    query = select(Dataset.id, Dataset.entity_defs)
    if scopes is not None:
        query = query.where(Dataset.id.in_(sorted(scopes)))
    return {id_: len(defs or []) for id_, defs in session.execute(query)}


def counts(session: Session, kind: str, scopes=None) -> dict | int:
    """The count of a tenant-wide kind, or {scope id: count} of a per-object one
    (restricted to `scopes` when given)."""
    if kind in _TOTALS:
        return session.scalar(select(func.count()).select_from(_TOTALS[kind])) or 0
    if kind == "entities_per_dataset":
        return _entities(session, scopes)
    if kind in _PER:
        return {scope: n for scope, n in session.execute(_grouped(kind, scopes))}
    return 0  # integrations, alerts, ...: nothing of the kind exists here


def usage(session: Session) -> list[dict]:
    """Every kind with its limit and current (per-object kinds: largest) usage."""
    answer = []
    for kind, (hard_limit, auto_increase_up_to) in limits(session).items():
        found = counts(session, kind)
        current = max(found.values(), default=0) if isinstance(found, dict) else found
        entry = {"quota_kind": kind, "hard_limit": min(hard_limit, UNLIMITED),
                 "current_max_usage": min(int(current), UNLIMITED)}
        if auto_increase_up_to is not None:
            entry["auto_increase_up_to"] = auto_increase_up_to
        answer.append(entry)
    return answer


# --- enforcement -----------------------------------------------------------
def _lock(session: Session, kind: str) -> None:
    if session.bind.dialect.name == "postgresql":
        key = zlib.crc32(f"reinfer-clone quota {kind}".encode())
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def enforce(session: Session, touched: dict[str, set | None]) -> None:
    """Refuse the transaction (QuotaExceeded) if, for a kind it inserted into,
    the count it would leave behind is over the hard limit. `touched` maps a
    kind to the scope ids it inserted into (None for tenant-wide kinds)."""
    if not touched:
        return
    current = limits(session)
    for kind in sorted(touched):  # one lock order: no deadlock between writers
        hard_limit = current[kind][0]
        if hard_limit >= UNLIMITED:
            continue
        _lock(session, kind)
        found = counts(session, kind, touched[kind])
        if isinstance(found, dict):
            over = {scope: n for scope, n in found.items() if n > hard_limit}
            if over:
                scope, n = max(over.items(), key=lambda item: item[1])
                raise QuotaExceeded(
                    f"Quota '{kind}' exceeded: the request would make {n} (in {scope}), "
                    f"over the hard limit of {hard_limit}.", quota_kind=kind)
        elif found > hard_limit:
            raise QuotaExceeded(
                f"Quota '{kind}' exceeded: the request would make {found}, "
                f"over the hard limit of {hard_limit}.", quota_kind=kind)
