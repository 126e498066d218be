"""Rename, move and delete labels (our extension, for the Taxonomy page and scripts).

A label's name is its path (`Parent > Child`), and labellings store names, so
renaming or moving a label rewrites that path in the group's label defs (the
label and its descendants) and in every labelling of the dataset; deleting one
removes its defs and takes it (and its descendants) off every comment. Model
versions keep the names they were trained with until the next training.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Labelling, Dataset
from . import datasets as datasets_service
from .labellings import is_reviewed
from ..vocabulary import LABEL_SEPARATOR

SEP = LABEL_SEPARATOR


def _renamed(name: str, old: str, new: str) -> str | None:
    """`name` with the path `old` replaced by `new`, or None if `name` is not under `old`."""
    if name == old:
        return new
    if name.startswith(old + SEP):
        return new + name[len(old):]
    return None


def _group(dataset: Dataset, group_name: str, label: str):
    group = dataset.group(group_name)
    if group is None or not any(d.name == label for d in group.label_defs):
        raise NotFound(f"Label '{label}' not found in group '{group_name}' of dataset '{dataset.name}'.")
    return group


def _rewrite_labellings(session: Session, dataset: Dataset, group_name: str, rename) -> int:
    """Apply `rename(name) -> new name | None (drop) | name (keep)` to the group's
    assigned and dismissed labels of every reviewed comment; returns how many changed."""
    changed = 0
    query = select(Labelling).where(Labelling.dataset_id == dataset.id, Labelling.reviewed.is_(True))
    for annotation in session.scalars(query):
        groups, touched = [], False
        for group in annotation.labelling or []:
            if group.get("group") != group_name:
                groups.append(group)
                continue
            out = dict(group)
            for key in ("assigned", "dismissed"):
                labels, seen = [], set()
                for label in group.get(key) or []:
                    name = rename(label["name"])
                    touched |= name != label["name"]
                    if name is not None and name not in seen:  # a move may merge two into one
                        seen.add(name)
                        labels.append({**label, "name": name})
                out[key] = labels
            groups.append(out)
        if touched:
            annotation.labelling = groups  # a new list: JSON columns track assignment only
            annotation.reviewed = is_reviewed(annotation)
            annotation.updated_at = utcnow()
            changed += 1
    return changed


def rename_label(session: Session, dataset: Dataset, group_name: str, old: str, new: str) -> dict:
    """Give `old` (and its descendants) the path `new`: a rename, a move under another
    parent (missing ancestors are created), or both. The target must not exist."""
    datasets_service.check_label_name(new, field="new_name")
    group = _group(dataset, group_name, old)
    if new.startswith(old + SEP):
        raise InvalidInput(f"Cannot move label '{old}' under itself ('{new}').", field="new_name")
    existing = {d.name for d in group.label_defs}
    moving = [d for d in group.label_defs if _renamed(d.name, old, new) is not None]
    if new != old:
        taken = sorted(_renamed(d.name, old, new) for d in moving if _renamed(d.name, old, new) in existing)
        if taken:
            raise Conflict(f"Label '{taken[0]}' already exists in group '{group_name}'; "
                           "rename or delete it first.")
    for label_def in moving:
        label_def.name = _renamed(label_def.name, old, new)
    session.flush()
    datasets_service.ensure_label_defs(session, dataset, group_name, [new])  # the new ancestors
    comments = _rewrite_labellings(session, dataset, group_name,
                                   lambda name: _renamed(name, old, new) or name)
    dataset.updated_at = utcnow()
    session.flush()
    return {"renamed_labels": len(moving), "updated_comments": comments}


def delete_label(session: Session, dataset: Dataset, group_name: str, label: str) -> dict:
    """Delete `label` and its descendants from the group and from every comment."""
    group = _group(dataset, group_name, label)
    doomed = [d for d in group.label_defs if _renamed(d.name, label, label) is not None]
    for label_def in doomed:
        session.delete(label_def)
    session.flush()
    comments = _rewrite_labellings(session, dataset, group_name,
                                   lambda name: None if _renamed(name, label, label) is not None else name)
    session.expire(group, ["label_defs"])
    dataset.updated_at = utcnow()
    session.flush()
    return {"deleted_labels": len(doomed), "updated_comments": comments}
