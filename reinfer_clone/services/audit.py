"""The audit log (contract section 19.1), written in the same transaction as
the changes it records, without a call in every service.

Session events watch what a transaction writes: ORM objects in `before_flush`,
bulk statements on comments in `do_orm_execute`. At commit (`before_commit`)
the changes become events, at most one per (event type, object): a comment
upload of 4096 comments is one `comments_uploaded` event, and a dataset created
with its label defs is one `dataset_created`. The same hook enforces quotas
(services/quotas.py) on what the transaction inserted, so a refused batch is
rolled back whole, events and all.

The actor is a context variable: the API layer sets it after authentication;
outside a request (CLI, worker, tests) it is the system actor.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, inspect, or_, select, tuple_
from sqlalchemy.orm import Session

from ..db import new_id, utcnow
from ..models import (
    Labelling, ApiToken, AuditEvent, Bucket, Comment, Dataset, DatasetSource, GlobalPermission,
    LabelDef, LabelGroup, ModelTag, ModelVersion, Project, ProjectPermission, Quota, Source, Stream,
    TrainingJob, User,
)
from .. import pagination
from .quotas import TENANT_ID, enforce


PAGE_SIZE = 128


@dataclass(frozen=True)
class Actor:
    id: str
    username: str
    email: str


# Changes made outside any request: the server itself (CLI commands, the worker).
SYSTEM = Actor(id="0000000000000000", username="system", email="")
_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("audit_actor", default=SYSTEM)


def set_actor(actor: Actor):
    """Make `actor` the author of what follows; returns a token for `reset_actor`."""
    return _actor.set(actor)


def reset_actor(token) -> None:
    try:
        _actor.reset(token)
    except ValueError:  # set in another context (a server that switched threads)
        _actor.set(SYSTEM)


def actor_of(user) -> Actor:
    return Actor(id=user.id, username=user.username, email=user.email)


# --- tracking ---------------------------------------------------------------
# Column changes that are bookkeeping, not a change anyone made.
_QUIET = {"updated_at", "last_modified", "position", "heartbeat_at"}


@dataclass
class _Pending:
    """What one transaction changed so far (kept in session.info)."""

    events: dict  # (event_type, key) -> {"project_ids": set, ...}
    touched: dict  # quota kind -> set of scope ids, or None (tenant-wide)
    refs: dict  # "projects"/"datasets"/"users" -> {id: snapshot}
    sources: set  # source ids whose project must be looked up at commit
    groups: dict  # (event_type, key) -> label group pks whose dataset is looked up
    seen: list  # (object, change) from each flush, made into events at commit


def _pending(session: Session) -> _Pending:
    pending = session.info.get("audit")
    if pending is None:
        pending = session.info["audit"] = _Pending({}, {}, {"projects": {}, "datasets": {}, "users": {}},
                                                   set(), {}, [])
    return pending


def _event(pending: _Pending, event_type: str, key, **ids) -> dict:
    entry = pending.events.setdefault((event_type, key), {
        "project_ids": set(), "dataset_ids": set(), "source_ids": set(), "user_ids": set(),
        "trigger_ids": set()})
    for name, values in ids.items():
        entry[name].update(v for v in values if v)
    return entry


def _touch(pending: _Pending, kind: str, scope: str | None = None) -> None:
    if scope is None:
        pending.touched[kind] = None
    else:
        scopes = pending.touched.setdefault(kind, set())
        if scopes is not None:
            scopes.add(scope)


def _changed_keys(obj) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def _track(pending: _Pending, obj, change: str, changed: set) -> None:
    """Record one ORM object's change as an event (and quota usage if created).
    Runs after the flush, when foreign keys set through relationships are known."""
    created = change == "created"
    if isinstance(obj, User):
        pending.refs["users"][obj.id] = {"username": obj.username, "email": obj.email}
        _event(pending, f"user_{change}", obj.id, user_ids=[obj.id])
        if created:
            _touch(pending, "users")
    elif isinstance(obj, (GlobalPermission, ProjectPermission)):
        _event(pending, "permissions_changed", obj.user_id, user_ids=[obj.user_id])
    elif isinstance(obj, ApiToken):
        if change != "updated":
            _event(pending, f"token_{change}", obj.user_id, user_ids=[obj.user_id])
    elif isinstance(obj, Project):
        pending.refs["projects"][obj.id] = {"name": obj.name}
        _event(pending, f"project_{change}", obj.id, project_ids=[obj.id])
        if created:
            _touch(pending, "projects")
    elif isinstance(obj, (Source, Bucket)):
        noun = "source" if isinstance(obj, Source) else "bucket"
        _event(pending, f"{noun}_{change}", obj.id, project_ids=[obj.project_id],
               source_ids=[obj.id] if noun == "source" else [])
        if created:
            _touch(pending, f"{noun}s")
    elif isinstance(obj, Dataset):
        pending.refs["datasets"][obj.id] = {"name": obj.name, "project_id": obj.project_id,
                                            "title": obj.title or ""}
        _event(pending, f"dataset_{change}", obj.id, project_ids=[obj.project_id], dataset_ids=[obj.id])
        if created:
            _touch(pending, "datasets")
        if created or "entity_defs" in changed:
            _touch(pending, "entities_per_dataset", obj.id)
    elif isinstance(obj, DatasetSource):
        _event(pending, "dataset_updated", obj.dataset_id, dataset_ids=[obj.dataset_id],
               source_ids=[obj.source_id])
        pending.sources.add(obj.source_id)
        if created:
            _touch(pending, "sources_per_dataset", obj.dataset_id)
            _touch(pending, "datasets_per_source", obj.source_id)
    elif isinstance(obj, LabelGroup):
        _event(pending, "label_defs_changed", obj.dataset_id, dataset_ids=[obj.dataset_id])
    elif isinstance(obj, LabelDef):
        # The group's dataset is looked up at commit (the def may not know it yet).
        pending.groups.setdefault(("label_defs_changed", created), set()).add(obj.group_pk)
    elif isinstance(obj, Labelling):
        _event(pending, "labelling_changed", obj.dataset_id, dataset_ids=[obj.dataset_id],
               source_ids=[obj.source_id])
        if change != "deleted":
            _touch(pending, "reviewed_comments_per_dataset", obj.dataset_id)
    elif isinstance(obj, TrainingJob):
        if created:
            _event(pending, "training_started", obj.id, dataset_ids=[obj.dataset_id])
    elif isinstance(obj, ModelVersion):
        if created:
            _event(pending, "model_version_created", (obj.dataset_id, obj.version),
                   dataset_ids=[obj.dataset_id])
    elif isinstance(obj, ModelTag):
        _event(pending, "model_tag_changed", (obj.dataset_id, obj.name), dataset_ids=[obj.dataset_id])
        if created:
            _touch(pending, "pinned_models")
    elif isinstance(obj, Stream):
        _event(pending, f"stream_{change}", obj.id, dataset_ids=[obj.dataset_id], trigger_ids=[obj.id])
        if created:
            _touch(pending, "triggers")
            _touch(pending, "triggers_per_dataset", obj.dataset_id)
    elif isinstance(obj, Quota):
        _event(pending, "quota_changed", obj.kind)


def _before_flush(session: Session, _context, _instances) -> None:
    seen = _pending(session).seen
    seen.extend((obj, "created", None) for obj in session.new if not isinstance(obj, AuditEvent))
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            changed = _changed_keys(obj)
            if changed - _QUIET:
                seen.append((obj, "updated", changed))
    seen.extend((obj, "deleted", None) for obj in session.deleted)


def _bound_values(clause, column) -> set:
    """Values compared to `column` (== or IN) in a WHERE clause."""
    from sqlalchemy.sql import operators, visitors

    found = set()
    for node in visitors.iterate(clause):
        left, right = getattr(node, "left", None), getattr(node, "right", None)
        if left is None or getattr(left, "key", None) != column.key or getattr(left, "table", None) is not column.table:
            continue
        if node.operator in (operators.eq, operators.in_op) and hasattr(right, "value"):
            value = right.effective_value
            found.update(value if isinstance(value, (list, tuple)) else [value])
    return found


def _rows(state) -> list[dict]:
    """The values of an INSERT: executemany parameters, or the statement's own."""
    params = state.parameters
    if params:
        return params if isinstance(params, list) else [params]
    return [state.statement.compile().params]


def _do_orm_execute(state) -> None:
    """Bulk statements: on comments, one event per request whatever the batch
    size; label defs and groups inserted behind the ORM's back."""
    if not (state.is_insert or state.is_delete):
        return
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table == "label_defs" and state.is_insert:
        groups = _pending(state.session).groups.setdefault(("label_defs_changed", True), set())
        groups.update(row["group_pk"] for row in _rows(state) if row.get("group_pk"))
        return
    if table == "label_groups" and state.is_insert:
        pending = _pending(state.session)
        for row in _rows(state):
            if row.get("dataset_id"):
                _event(pending, "label_defs_changed", row["dataset_id"], dataset_ids=[row["dataset_id"]])
        return
    if table != "comments":
        return
    pending = _pending(state.session)
    if state.is_insert:
        source_ids = {row["source_id"] for row in _rows(state) if row.get("source_id")}
        clause = getattr(statement, "_post_values_clause", None)
        kind = "synced" if type(clause).__name__ == "OnConflictDoUpdate" else "uploaded"
        _touch(pending, "comments")
        for source_id in source_ids:
            _touch(pending, "comments_per_source", source_id)
    else:
        source_ids = _bound_values(statement.whereclause, Comment.__table__.c.source_id)
        kind = "deleted"
    pending.sources.update(source_ids)
    for source_id in source_ids:
        _event(pending, f"comments_{kind}", source_id, source_ids=[source_id])


# --- commit ---------------------------------------------------------------
def _resolve(session: Session, pending: _Pending) -> None:
    """Fill in the project (and dataset) of events that only know a source,
    label group or dataset id, and snapshot the names of everything referenced."""
    if pending.groups:
        pks = set().union(*pending.groups.values())
        datasets = dict(session.execute(select(LabelGroup.pk, LabelGroup.dataset_id)
                                        .where(LabelGroup.pk.in_(sorted(pks)))).all())
        for (event_type, created), group_pks in pending.groups.items():
            for pk in group_pks:
                dataset_id = datasets.get(pk)
                if dataset_id:
                    _event(pending, event_type, dataset_id, dataset_ids=[dataset_id])
                    if created:
                        _touch(pending, "labels_per_dataset", dataset_id)
    source_projects = {}
    if pending.sources:
        source_projects = dict(session.execute(select(Source.id, Source.project_id)
                                               .where(Source.id.in_(sorted(pending.sources)))).all())
    dataset_ids = set().union(*(e["dataset_ids"] for e in pending.events.values()))
    missing = dataset_ids - set(pending.refs["datasets"])
    if missing:
        for dataset in session.execute(select(Dataset.id, Dataset.name, Dataset.project_id, Dataset.title)
                                       .where(Dataset.id.in_(sorted(missing)))):
            pending.refs["datasets"][dataset.id] = {"name": dataset.name, "project_id": dataset.project_id,
                                                    "title": dataset.title or ""}
    for entry in pending.events.values():
        entry["project_ids"].update(source_projects[s] for s in entry["source_ids"] if s in source_projects)
        # A dataset's project is part of the event: the client joins both.
        entry["dataset_ids"] &= set(pending.refs["datasets"])
        entry["project_ids"].update(pending.refs["datasets"][d]["project_id"] for d in entry["dataset_ids"])
    project_ids = set().union(*(e["project_ids"] for e in pending.events.values()))
    missing = project_ids - set(pending.refs["projects"])
    if missing:
        for id_, name in session.execute(select(Project.id, Project.name).where(Project.id.in_(sorted(missing)))):
            pending.refs["projects"][id_] = {"name": name}
    for entry in pending.events.values():
        entry["project_ids"] &= set(pending.refs["projects"])


def _drop_implied(events: dict) -> dict:
    """Creating or deleting a user or dataset implies its permission rows,
    source links and label defs: one event, not several."""
    whole = {(t.split("_", 1)[0], k) for t, k in events
             if t in ("user_created", "user_deleted", "dataset_created", "dataset_deleted")}
    implied = {"permissions_changed": "user", "token_deleted": "user", "dataset_updated": "dataset",
               "label_defs_changed": "dataset"}
    return {(t, k): v for (t, k), v in events.items()
            if not (t in implied and (implied[t], k) in whole)}


def _before_commit(session: Session) -> None:
    session.flush()  # pending ORM objects are tracked (and counted) too
    pending = session.info.get("audit")
    if pending is None:
        return
    for obj, change, changed in pending.seen:
        _track(pending, obj, change, changed or set())
    pending.seen.clear()
    if not (pending.events or pending.touched or pending.groups):
        return
    with session.no_autoflush:
        _resolve(session, pending)
        enforce(session, pending.touched)
        actor = _actor.get()
        now = utcnow()
        refs_users = {actor.id: {"username": actor.username, "email": actor.email}}
        # One timestamp per transaction; ids share a random prefix and count up,
        # so the (timestamp, id) order is the order the changes were made in.
        prefix = new_id()[:12]
        for number, ((event_type, _key), ids) in enumerate(_drop_implied(pending.events).items()):
            if number and not number % 0x10000:
                prefix = new_id()[:12]  # never a repeated id, even past 65,536 events
            refs = {
                "users": {**refs_users, **{u: pending.refs["users"][u] for u in ids["user_ids"]
                                           if u in pending.refs["users"]}},
                "projects": {p: pending.refs["projects"][p] for p in ids["project_ids"]},
                "datasets": {d: pending.refs["datasets"][d] for d in ids["dataset_ids"]},
            }
            session.add(AuditEvent(
                id=f"{prefix}{number % 0x10000:04x}", event_type=event_type, actor_user_id=actor.id, timestamp=now,
                **{name: sorted(values) for name, values in ids.items()}, refs=refs))
    session.info.pop("audit", None)


def _forget(session: Session, *_args) -> None:
    session.info.pop("audit", None)


event.listen(Session, "before_flush", _before_flush)
event.listen(Session, "do_orm_execute", _do_orm_execute)
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_rollback", _forget)
event.listen(Session, "after_soft_rollback", _forget)


# --- reading ---------------------------------------------------------------
def query(session: Session, minimum: datetime | None, maximum: datetime | None,
          continuation: str | None, tenant_name: str, limit: int | None = None) -> dict:
    """One page of events in (timestamp, id) order with everything they reference."""
    limit = limit or PAGE_SIZE
    statement = select(AuditEvent)
    if continuation:
        stamp, event_id = pagination.decode("audit", continuation)
        statement = statement.where(tuple_(AuditEvent.timestamp, AuditEvent.id)
                                    > (datetime.fromisoformat(stamp), event_id))
    if minimum is not None:
        statement = statement.where(AuditEvent.timestamp >= minimum)
    if maximum is not None:
        statement = statement.where(AuditEvent.timestamp <= maximum)
    rows = list(session.scalars(statement.order_by(AuditEvent.timestamp, AuditEvent.id).limit(limit + 1)))
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        cursor = pagination.encode("audit", [rows[-1].timestamp.isoformat(), rows[-1].id])
    users, projects, datasets = {}, {}, {}
    for row in rows:
        refs = row.refs or {}
        users.update(refs.get("users", {}))
        projects.update(refs.get("projects", {}))
        datasets.update(refs.get("datasets", {}))
    # Live names where the object still exists; the snapshot where it does not.
    if users:
        for user in session.execute(select(User.id, User.username, User.email).where(User.id.in_(sorted(users)))):
            users[user.id] = {"username": user.username, "email": user.email}
    if datasets:
        for d in session.execute(select(Dataset.id, Dataset.name, Dataset.project_id, Dataset.title)
                                 .where(Dataset.id.in_(sorted(datasets)))):
            datasets[d.id] = {"name": d.name, "project_id": d.project_id, "title": d.title or ""}
    return {
        "audit_events": [{
            "event_id": row.id, "event_type": row.event_type, "timestamp": row.timestamp,
            "actor_user_id": row.actor_user_id, "actor_tenant_id": TENANT_ID, "tenant_ids": [TENANT_ID],
            "project_ids": row.project_ids or [], "dataset_ids": row.dataset_ids or [],
            "source_ids": row.source_ids or [], "user_ids": row.user_ids or [],
            "trigger_ids": row.trigger_ids or [],
        } for row in rows],
        "projects": [{"id": id_, "name": p["name"], "tenant_id": TENANT_ID} for id_, p in sorted(projects.items())],
        "datasets": [{"id": id_, "name": d["name"], "project_id": d["project_id"], "title": d.get("title", "")}
                     for id_, d in sorted(datasets.items())],
        "tenants": [{"id": TENANT_ID, "name": tenant_name}],
        "users": [{"id": id_, "username": u["username"], "display_name": u["username"], "email": u["email"],
                   "tenant_id": TENANT_ID} for id_, u in sorted(users.items())],
        "continuation": cursor,
    }
