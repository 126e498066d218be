"""What a query selects: a CommentFilter, attribute filters and a search string,
narrowed in SQL where it can be and tested in Python a batch at a time."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy.orm import Session

from ...models import Comment, Dataset
from ...vocabulary import ATTACHMENT_COUNT, ATTACHMENT_TYPES, LABELS
from ..comment_filter import CommentFilter
from ..search.keywords import keyword_condition
from ..labellings import annotations_for, assigned_with_parents
from ..model_versions import latest_version
from ..predictions import predicted_labels

# A prediction at least this probable counts as the label for an unreviewed comment.
PREDICTED_THRESHOLD = 0.5
SCAN_BATCH = 512
ALL_COLUMNS = tuple(Comment.__table__.columns)


@dataclass(frozen=True)
class AttributeFilter:
    attribute: str
    any_of: frozenset[str] = frozenset()
    minimum: int | None = None
    maximum: int | None = None

    @classmethod
    def of(cls, loaded: dict) -> AttributeFilter:
        spec = loaded["filter"]
        any_of = spec.get("any_of") or ()
        if loaded["attribute"] == ATTACHMENT_TYPES:
            # Extensions compare without their dot and case-insensitively.
            any_of = (e.lstrip(".").lower() for e in any_of)
        return cls(loaded["attribute"], frozenset(any_of), spec.get("minimum"), spec.get("maximum"))

    def accepts_attachments(self, attachments: list) -> bool:
        if self.attribute == ATTACHMENT_TYPES:
            return any(_extension(a.get("name", "")) in self.any_of for a in attachments)
        count = len(attachments)
        return (self.minimum is None or count >= self.minimum) and (self.maximum is None or count <= self.maximum)


def _extension(name: str) -> str:
    """`report.PDF` -> `pdf`; `a.tar.gz` -> `gz`; a name without a suffix has none."""
    return PurePosixPath(name).suffix[1:].lower()


@dataclass(frozen=True)
class Selection:
    comment_filter: CommentFilter
    attribute_filters: tuple[AttributeFilter, ...] = ()
    search: str = ""

    @classmethod
    def of(cls, comment_filter: dict | None, attribute_filters=None, search: str | None = None,
           field: str = "filter") -> Selection:
        """From what the request schemas loaded; `field` names the filter in errors."""
        return cls(
            CommentFilter.from_loaded(comment_filter, field),
            tuple(AttributeFilter.of(f) for f in attribute_filters or ()),
            search or "",
        )

    @property
    def label_filters(self) -> list[AttributeFilter]:
        return [f for f in self.attribute_filters if f.attribute == LABELS]

    @property
    def tests_rows(self) -> bool:
        """Whether some part must be tested in Python on loaded comments."""
        return self.comment_filter.tests_content or bool(self.attribute_filters)

    def conditions(self, session: Session, dataset: Dataset) -> list:
        source_ids = self.comment_filter.source_ids(dataset.source_ids)
        conditions = self.comment_filter.conditions(source_ids, dataset.id)
        if self.search:
            conditions.append(keyword_condition(session, self.search))
        return conditions

    def matches_row(self, row) -> bool:
        """Everything testable on the comment alone (labels need the dataset)."""
        if not self.comment_filter.matches_content(row):
            return False
        attachments = row.attachments or []
        return all(spec.accepts_attachments(attachments) for spec in self.attribute_filters
                   if spec.attribute in (ATTACHMENT_TYPES, ATTACHMENT_COUNT))


class RowTester:
    """Keeps the rows of a batch that pass the Python-side tests."""

    def __init__(self, session: Session, dataset: Dataset | None, selection: Selection):
        self.session = session
        self.dataset = dataset
        self.selection = selection
        self.label_filters = selection.label_filters
        self.model = latest_version(session, dataset.id) if self.label_filters else None

    def keep(self, rows: list) -> list:
        if not self.selection.tests_rows:
            return rows
        rows = [row for row in rows if self.selection.matches_row(row)]
        if not self.label_filters or not rows:
            return rows
        pks = [row.pk for row in rows]
        annotations = annotations_for(self.session, self.dataset.id, pks)
        predictions = predicted_labels(self.session, self.dataset, pks, model=self.model) if self.model else {}
        return [
            row for row in rows
            if all(_has_label(f.any_of, annotations.get(row.pk), predictions.get(row.pk, []))
                   for f in self.label_filters)
        ]


def _has_label(names: frozenset[str], annotation, predicted: list[dict]) -> bool:
    """Assigned (parents implied); or, when unreviewed, predicted probably enough."""
    if any(label["name"] in names for label in assigned_with_parents(annotation)):
        return True
    if annotation is not None and annotation.reviewed:
        return False
    return any(p["name"] in names and p["probability"] >= PREDICTED_THRESHOLD for p in predicted)
