"""Datasets: their sources, label groups and label defs, entity defs and flags."""
from __future__ import annotations

from sqlalchemy import insert as sa_insert
from sqlalchemy import literal as sa_literal
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from ..db import insert_for, new_id, utcnow
from ..errors import InvalidInput, NotFound, not_one_of
from ..models import Labelling, Dataset, DatasetSource, LabelDef, LabelfModel, LabelGroup, Source
from ..models.datasets import DEFAULT_GROUP
from . import model_versions, owned, training
from .names import validate_name
from ..vocabulary import LABEL_SEPARATOR
from .permissions import Principal

# The contract requires the first three; the rest are the languages a model
# family plausibly names. The client echoes the list in its error message.
MODEL_FAMILIES = (
    "english", "german", "multilingual", "french", "spanish", "italian", "portuguese", "dutch",
)
MAX_LABEL_NAME = 1024
_LABEL_DEF_FIELDS = ("title", "instructions", "external_id", "pretrained", "moon_form", "trainable")



def list_visible(session: Session, principal: Principal) -> list[Dataset]:
    return owned.list_visible(session, Dataset, principal, "voc-readonly")


def list_in_project(session: Session, project: str) -> list[Dataset]:
    return owned.list_in_project(session, Dataset, project)


def get_by_name(session: Session, project: str, name: str, with_labels: bool = True) -> Dataset:
    """The dataset; `with_labels=False` defers reading its label taxonomy to
    first use (two queries fewer for routes that page through comments)."""
    options = () if with_labels else (lazyload(Dataset.label_groups),)
    return owned.get_by_name(session, Dataset, project, name, options)


def get_by_id(session: Session, dataset_id: str, principal=None, code: str | None = None) -> Dataset:
    return owned.get_by_id(session, Dataset, dataset_id, principal, code)


# --- validation -----------------------------------------------------------------------

def _check_model_family(family: str) -> None:
    if family not in MODEL_FAMILIES:
        # Bare message: the client's tests match its start.
        raise InvalidInput(not_one_of(family, MODEL_FAMILIES), field="model_family")


def _checked_source_ids(session: Session, principal: Principal, source_ids) -> list[str]:
    unique = list(dict.fromkeys(source_ids))
    for source_id in unique:
        source = session.get(Source, source_id)
        if source is None:
            raise NotFound(f"Source with id '{source_id}' not found.")
        principal.require("sources-read", source.owner)
    return unique


def check_label_name(name: str, field: str = "label_defs") -> None:
    """A label path's rules: at most MAX_LABEL_NAME characters, no empty part;
    `field` names the request field in the error."""
    if len(name) > MAX_LABEL_NAME:
        raise InvalidInput(
            f"Invalid label name '{name[:64]}...': at most {MAX_LABEL_NAME} characters.",
            field=field,
        )
    if any(not part.strip() for part in name.split(LABEL_SEPARATOR)):
        raise InvalidInput(
            f"Invalid label name '{name}': it and every part of a '{LABEL_SEPARATOR.strip()}' "
            "path must be non-empty.",
            field=field,
        )


def _label_def_specs(label_defs) -> list[dict]:
    """Names or NewLabelDef dicts, expanded with their missing ancestors (each placed
    before its first descendant) and merged by name, later keys winning."""
    specs: dict[str, dict] = {}
    for item in label_defs:
        spec = {"name": item} if isinstance(item, str) else dict(item)
        name = spec["name"]
        check_label_name(name)
        parts = name.split(LABEL_SEPARATOR)
        for depth in range(1, len(parts)):
            ancestor = LABEL_SEPARATOR.join(parts[:depth])
            specs.setdefault(ancestor, {"name": ancestor})
        specs.setdefault(name, {"name": name}).update(spec)
    return list(specs.values())


def _label_def_values(spec: dict) -> dict:
    """Column values for the keys a spec gives; absent keys are left alone."""
    values = {key: spec[key] for key in _LABEL_DEF_FIELDS if key in spec}
    if "external_id" in values:
        # The client refuses "" where it expects an optional id: store "unset".
        values["external_id"] = values["external_id"] or None
    pretrained = values.get("pretrained")
    if pretrained is not None:
        # The response requires a name; we have no catalogue to look one up in.
        values["pretrained"] = {"id": pretrained["id"], "name": pretrained.get("name") or ""}
    if values.get("moon_form") is not None:
        values["moon_form"] = [
            {"name": f["name"], "kind": f["kind"], "instructions": f.get("instructions") or ""}
            for f in values["moon_form"]
        ]
    return values


def _merged_entity_defs(current: list[dict], given: list[dict]) -> list[dict]:
    """Entity defs after appending new names and updating existing ones in place."""
    merged = [dict(entry) for entry in current]
    by_name = {entry["name"]: entry for entry in merged}
    for new in given:
        if not new["name"]:
            raise InvalidInput("Invalid entity def: the name must be non-empty.", field="entity_defs")
        entry = by_name.get(new["name"])
        if entry is None:
            # The server picks ids and colour; the client reads `color: 0`.
            entry = {"id": new_id(), "name": new["name"], "color": 0, "entity_def_flags": []}
            merged.append(entry)
            by_name[entry["name"]] = entry
        entry.update(
            title=new["title"], inherits_from=list(new["inherits_from"]), trainable=new["trainable"]
        )
        if "entity_def_flags" in new:
            entry["entity_def_flags"] = list(dict.fromkeys(new["entity_def_flags"]))
        if "rules" in new:
            entry["rules"] = _entity_rules(new["rules"], entry.get("rules"))
        if "instructions" in new:
            entry["instructions"] = new["instructions"]
        for key in ("rules", "instructions"):
            if entry.get(key) is None:
                entry.pop(key, None)
    return merged


def _entity_rules(rules: dict | None, previous: dict | None) -> dict | None:
    if rules is None:
        return None
    # Choices have ids in responses; keep a choice's id while its name stays.
    old_ids = {c["name"]: c["id"] for c in (previous or {}).get("choices", [])}
    stored = {
        "suppressors": list(rules["suppressors"]),
        "choices": [
            {"id": old_ids.get(c["name"]) or new_id(), "name": c["name"], "values": list(c["values"])}
            for c in rules["choices"]
        ],
    }
    if rules.get("regex") is not None:
        stored["regex"] = rules["regex"]
    return stored


def _general_fields(general_fields) -> list[dict]:
    return [{k: v for k, v in f.items() if v is not None} for f in general_fields]


def _set_sources(dataset: Dataset, source_ids: list[str]) -> None:
    existing = {link.source_id: link for link in dataset.source_links}
    links = []
    for position, source_id in enumerate(source_ids):
        link = existing.get(source_id) or DatasetSource(source_id=source_id)
        link.position = position
        links.append(link)
    dataset.source_links = links


# --- label defs -----------------------------------------------------------------------

def _insert_ignore(session: Session, table, values: dict, keys) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if a row was inserted. Unlike a
    SAVEPOINT, which pysqlite mishandles, this works the same on both backends."""
    statement = insert_for(session)(table).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    # With RETURNING (implicit on PostgreSQL) rowcount is -1: count returned rows.
    statement = statement.returning(*table.primary_key.columns)
    return session.execute(statement).first() is not None


def _group_pk(session: Session, dataset: Dataset, name: str) -> tuple[int, bool]:
    """The group's key, and whether this call created it."""
    group = dataset.group(name)
    if group is not None:
        return group.pk, False
    created = _insert_ignore(
        session, LabelGroup.__table__, {"dataset_id": dataset.id, "name": name}, ("dataset_id", "name")
    )
    pk = session.scalar(
        select(LabelGroup.pk).where(LabelGroup.dataset_id == dataset.id, LabelGroup.name == name)
    )
    return pk, created


def ensure_label_defs(session: Session, dataset: Dataset, group_name: str, label_defs) -> bool:
    """Create or update label defs by name in a group, creating the group if missing.

    `label_defs` holds names (as a labelling gives them) or NewLabelDef dicts.
    `A > B` also creates `A`, placed before it, if missing. Given keys overwrite;
    absent keys keep their value, so a bare name never alters an existing def.
    Idempotent, and safe under concurrent callers (the client posts labellings
    from a thread pool): rows are inserted with ON CONFLICT DO NOTHING. On
    PostgreSQL, concurrent callers adding several new names should pass them in
    one consistent order (e.g. sorted) so that their inserts cannot deadlock.

    Flushes, never commits: the caller's transaction decides. Returns whether
    anything changed (the caller may bump the dataset's `last_modified`).
    """
    validate_name("label group", group_name)
    specs = _label_def_specs(label_defs)
    session.flush()
    group_pk, changed = _group_pk(session, dataset, group_name)

    def load(names):
        query = select(LabelDef).where(LabelDef.group_pk == group_pk, LabelDef.name.in_(names))
        return {d.name: d for d in session.scalars(query)}

    by_name = load([spec["name"] for spec in specs]) if specs else {}
    missing = [spec["name"] for spec in specs if spec["name"] not in by_name]
    for name in missing:
        changed |= _insert_ignore(
            session, LabelDef.__table__, {"group_pk": group_pk, "name": name}, ("group_pk", "name")
        )
    if missing:
        by_name.update(load(missing))
    for spec in specs:
        label_def = by_name[spec["name"]]
        for key, value in _label_def_values(spec).items():
            if getattr(label_def, key) != value:
                setattr(label_def, key, value)
                changed = True
    if changed:
        session.flush()
        # The rows went in behind the ORM's back: reload the cached collections.
        for group in dataset.label_groups:
            session.expire(group, ["label_defs"])
        session.expire(dataset, ["label_groups"])
    return changed


def put_label_defs(session: Session, dataset: Dataset, group_name: str, label_defs) -> None:
    if ensure_label_defs(session, dataset, group_name, label_defs):
        dataset.updated_at = utcnow()
    session.flush()


# --- datasets -------------------------------------------------------------------------

def create(session: Session, principal: Principal, project_name: str, name: str, **fields) -> Dataset:
    project = owned.project_for_new(session, Dataset, project_name, name)
    model_family = fields.get("model_family", "english")
    _check_model_family(model_family)
    source_ids = _checked_source_ids(session, principal, fields.get("source_ids", []))
    origin = None
    if fields.get("copy_annotations_from") is not None:
        origin = get_by_id(session, fields["copy_annotations_from"], principal, "voc-readonly")

    if fields.get("label_groups"):
        groups = [(g["name"], g["label_defs"]) for g in fields["label_groups"]]
    else:
        groups = [(DEFAULT_GROUP, fields.get("label_defs", []))]
    # Refuse bad names before anything is written.
    for group_name, label_defs in groups:
        validate_name("label group", group_name)
        _label_def_specs(label_defs)
    entity_defs = _merged_entity_defs([], fields.get("entity_defs", []))

    now = utcnow()
    dataset = Dataset(
        id=new_id(),
        project=project,
        name=name,
        title=fields.get("title", ""),
        description=fields.get("description", ""),
        model_family=model_family,
        has_sentiment=fields.get("has_sentiment", True),
        entity_defs=entity_defs,
        general_fields=_general_fields(fields.get("general_fields", [])),
        dataset_flags=list(dict.fromkeys(fields.get("dataset_flags", []))),
        created_at=now,
        updated_at=now,
        labelf_model=LabelfModel(),
    )
    _set_sources(dataset, source_ids)
    session.add(dataset)
    # `default` always exists, and comes first.
    ensure_label_defs(session, dataset, DEFAULT_GROUP, [])
    for group_name, label_defs in groups:
        ensure_label_defs(session, dataset, group_name, label_defs)
    if origin is not None:
        _copy_annotations(session, origin, dataset)
    session.flush()
    return dataset


def _copy_annotations(session: Session, origin: Dataset, dataset: Dataset) -> None:
    """Copy the origin's annotations of comments in the sources both datasets
    share, in the creating transaction. Labels the copies use become label
    defs of the new dataset, as a labelling with a new label would make them."""
    origin_sources = set(origin.source_ids)
    shared = [s for s in dataset.source_ids if s in origin_sources]
    if not shared:
        return
    copied = (Labelling.dataset_id == origin.id) & Labelling.source_id.in_(shared)
    names: dict[str, set[str]] = {}
    for (labelling,) in session.execute(select(Labelling.labelling).where(copied)):
        for entry in labelling or []:
            for key in ("assigned", "dismissed"):
                names.setdefault(entry["group"], set()).update(label["name"] for label in entry.get(key, []))
    for group_name in sorted(names):
        ensure_label_defs(session, dataset, group_name, sorted(names[group_name]))
    columns = ("comment_pk", "source_id", "labelling", "entities", "moon_forms", "reviewed", "updated_at",
               "updated_by")
    # One INSERT ... SELECT: the rows never pass through Python.
    session.execute(sa_insert(Labelling).from_select(
        ["dataset_id", *columns],
        select(sa_literal(dataset.id, type_=Labelling.dataset_id.type),
               *[getattr(Labelling, c) for c in columns]).where(copied),
    ))


def update(session: Session, principal: Principal, dataset: Dataset, **fields) -> Dataset:
    """Only the given keys change; `source_ids: []` clears the sources."""
    # Validate everything before touching the row.
    if "source_ids" in fields:
        source_ids = _checked_source_ids(session, principal, fields["source_ids"])
    if "entity_defs" in fields:
        entity_defs = _merged_entity_defs(dataset.entity_defs, fields["entity_defs"])
    if "model_family" in fields:
        _check_model_family(fields["model_family"])
    new_family = "model_family" in fields and fields["model_family"] != dataset.model_family
    if "source_ids" in fields and source_ids != dataset.source_ids:
        _set_sources(dataset, source_ids)
        dataset.updated_at = utcnow()
    changes = {key: fields[key] for key in ("title", "description", "model_config", "model_family")
               if key in fields}
    if "entity_defs" in fields:
        changes["entity_defs"] = entity_defs
    owned.apply_changes(dataset, changes)
    session.flush()
    if new_family and model_versions.latest_version(session, dataset.id) is not None:
        # Another family embeds with another encoder: the served version (which
        # keeps its own encoder meanwhile) is replaced by one trained anew.
        training.request_training(session, dataset)
    return dataset


def delete(session: Session, dataset: Dataset) -> None:
    # Label groups, defs and sources links (and later labellings, streams and
    # models) go by ON DELETE CASCADE; the sources themselves stay.
    session.delete(dataset)
    session.flush()


def list_model_tags(session: Session, dataset: Dataset) -> list:
    return model_versions.list_tags(session, dataset)
