"""JSONL export: the lines `re get comments S --dataset D` writes, page by page,
resumable from `<output>.partial`."""
from __future__ import annotations

import os
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from ...errors import InvalidInput
from ...models import Dataset, Source
from ...wire import format_datetime
from .. import comments as comments_service
from .. import datasets as datasets_service
from .. import labellings as labellings_service
from .. import sources as sources_service
from .client_format import client_comment, client_entities, client_labelling, client_moon_forms
from .state import (EXPORT_STATE_SUFFIX, STATE_VERSION, OnStart, Progress, load_state, remove_state,
                    save_state)

EXPORT_PAGE = 256


def _lines(session: Session, dataset: Dataset, rows, with_predictions: bool) -> list[dict]:
    annotations, reviewed, predicted = labellings_service.page_annotations(
        session, dataset, [row.pk for row in rows], with_predictions)
    out = []
    for row in rows:
        annotation = annotations.get(row.pk)
        line = {"comment": client_comment(row, row.pk in reviewed)}
        labelling = client_labelling(annotation.labelling if annotation else None,
                                     predicted.get(row.pk), dataset.has_sentiment)
        if labelling is not None:
            line["labelling"] = labelling
        if annotation is not None:
            entities = client_entities(annotation.entities)
            if entities is not None:
                line["entities"] = entities
            moon_forms = client_moon_forms(annotation.moon_forms)
            if moon_forms is not None:
                line["moon_forms"] = moon_forms
        out.append(line)
    return out


def _chosen_sources(session: Session, dataset: Dataset, wanted) -> list[Source]:
    """The dataset's sources in its order, or those named (by id, `project/name` or
    bare name) in the order given."""
    members = [sources_service.get_by_id(session, source_id) for source_id in dataset.source_ids]
    if not wanted:
        return members
    chosen = []
    for ref in wanted:
        matches = [s for s in members if ref in (s.id, f"{s.owner}/{s.name}", s.name)]
        if not matches:
            raise InvalidInput(f"--source: '{ref}' is not a source of dataset "
                               f"'{dataset.owner}/{dataset.name}'.", field="source")
        if len(matches) > 1:
            raise InvalidInput(f"--source: '{ref}' names several sources of the dataset; "
                               "give PROJECT/NAME or the id.", field="source")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


def export_jsonl(
    session: Session, project: str, dataset_name: str, path: str, *,
    predictions: bool = False, sources=(), minimum: datetime | None = None,
    maximum: datetime | None = None, restart: bool = False, page_size: int | None = None,
    progress: Progress | None = None, on_start: OnStart | None = None,
) -> int:
    """Write the dataset's comments (source by source, each in (timestamp, id)
    order) to `path`, one line each; returns how many lines the file holds."""
    page_size = page_size or EXPORT_PAGE
    dataset = datasets_service.get_by_name(session, project, dataset_name)
    chosen = _chosen_sources(session, dataset, sources)
    options = {
        "dataset_id": dataset.id, "source_ids": [s.id for s in chosen], "predictions": predictions,
        "from": format_datetime(minimum) if minimum else None,
        "to": format_datetime(maximum) if maximum else None,
    }
    state_path = path + EXPORT_STATE_SUFFIX
    state = None if restart else load_state(state_path)
    if state is not None and state.get("options") != options:
        raise InvalidInput(f"{state_path} belongs to an interrupted export with other options; "
                           "rerun that export to finish it, or pass --restart to start over.")
    if on_start:
        total = sum(sources_service.count_comments(session, s, minimum, maximum) for s in chosen)
        on_start(total, state["lines"] if state else 0)
    if state is None:
        state = {"version": STATE_VERSION, "options": options, "source": 0, "after": None,
                 "bytes": 0, "lines": 0}
        save_state(state_path, state)
    with open(path, "r+b" if os.path.exists(path) else "w+b") as f:
        if f.seek(0, os.SEEK_END) < state["bytes"]:
            raise InvalidInput(f"{path} is shorter than {state_path} says it was; "
                               "pass --restart to start over.")
        # Drop what was written after the last recorded page, a torn line included.
        f.truncate(state["bytes"])
        f.seek(state["bytes"])
        while state["source"] < len(chosen):
            source = chosen[state["source"]]
            rows, after = comments_service.iterate(session, source, page_size, minimum, maximum,
                                                   state["after"])
            if rows:
                data = b"".join(orjson.dumps(line) + b"\n"
                                for line in _lines(session, dataset, rows, predictions))
                f.write(data)
                f.flush()
                # On disk before the state says so: a resume never trusts unwritten bytes.
                os.fsync(f.fileno())
                state["bytes"] += len(data)
                state["lines"] += len(rows)
            if after:
                state["after"] = after
            else:
                state["source"] += 1
                state["after"] = None
            save_state(state_path, state)
            if progress and rows:
                progress(len(rows))
    remove_state(state_path)
    return state["lines"]
