"""CommentFilter (contract §9.1): which comments a query, statistics, summary or
stream means.

Sources, the time range and review state become SQL conditions, which the
indexes serve. User properties and message addresses are tested in Python:
the JSON they live in reads differently on SQLite and PostgreSQL, and streams
test comments one at a time anyway, so one implementation serves both.

Rules where the contract is silent:
* a property the comment lacks passes `not_one_of` and `domain_not_one_of`,
  fails `one_of` and any range;
* `messages.from` / `messages.to` look at every message of the thread; `one_of`
  needs one address in the list, `not_one_of` / `domain_not_one_of` need none;
  addresses and domains compare case-insensitively, property values exactly;
* a domain is what follows the last `@` (the whole value if there is none).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import exists

from ..errors import InvalidInput
from ..models import Labelling, Comment
from ..schemas.fields import describe
from ..schemas.query import CommentFilter as CommentFilterSchema

ONLY_REVIEWED = "only_reviewed"
ONLY_UNREVIEWED = "only_unreviewed"

_schema = CommentFilterSchema()


def _domain(value) -> str:
    return str(value).rpartition("@")[2].lower()


@dataclass(frozen=True)
class PropertyFilter:
    one_of: tuple = ()
    not_one_of: tuple = ()
    domain_not_one_of: frozenset[str] = frozenset()
    minimum: float | None = None
    maximum: float | None = None

    @classmethod
    def of(cls, loaded: dict | None) -> PropertyFilter | None:
        if loaded is None:
            return None
        return cls(
            one_of=tuple(loaded.get("one_of") or ()),
            not_one_of=tuple(loaded.get("not_one_of") or ()),
            # "@acme.test" and "acme.test" mean the same domain.
            domain_not_one_of=frozenset(d.lstrip("@").lower() for d in loaded.get("domain_not_one_of") or ()),
            minimum=loaded.get("minimum"),
            maximum=loaded.get("maximum"),
        )

    def accepts(self, value) -> bool:
        """One user property value; None when the comment lacks the property."""
        if value is None:
            return not self.one_of and self.minimum is None and self.maximum is None
        if self.one_of and value not in self.one_of:
            return False
        if value in self.not_one_of:
            return False
        if self.domain_not_one_of and _domain(value) in self.domain_not_one_of:
            return False
        if self.minimum is not None or self.maximum is not None:
            if isinstance(value, (str, bool)):
                return False
            if self.minimum is not None and value < self.minimum:
                return False
            if self.maximum is not None and value > self.maximum:
                return False
        return True

    def accepts_addresses(self, addresses: list[str]) -> bool:
        """The addresses of a thread (all senders, or all recipients)."""
        lowered = {a.lower() for a in addresses}
        if self.one_of and not lowered & {str(v).lower() for v in self.one_of}:
            return False
        if lowered & {str(v).lower() for v in self.not_one_of}:
            return False
        return not any(_domain(a) in self.domain_not_one_of for a in lowered)


def _senders(messages) -> list[str]:
    return [m["from"] for m in messages if isinstance(m.get("from"), str)]


def _recipients(messages) -> list[str]:
    return [a for m in messages for a in (m.get("to") or []) if isinstance(a, str)]


@dataclass(frozen=True)
class CommentFilter:
    # Where the filter sat in the request, for error messages: `filter`, `comment_filter`.
    field: str = "filter"
    reviewed: str | None = None
    minimum: datetime | None = None
    maximum: datetime | None = None
    sources: tuple[str, ...] = ()
    user_properties: dict[str, PropertyFilter] = dataclass_field(default_factory=dict)
    sender: PropertyFilter | None = None
    recipient: PropertyFilter | None = None

    @classmethod
    def from_loaded(cls, loaded: dict | None, field: str = "filter") -> CommentFilter:
        """From what `schemas.query.CommentFilter` loaded (None or {} match everything)."""
        loaded = loaded or {}
        timestamp = loaded.get("timestamp") or {}
        messages = loaded.get("messages") or {}
        return cls(
            field=field,
            reviewed=loaded.get("reviewed"),
            minimum=timestamp.get("minimum"),
            maximum=timestamp.get("maximum"),
            sources=tuple(dict.fromkeys(loaded.get("sources") or ())),
            user_properties={
                name: PropertyFilter.of(spec) for name, spec in (loaded.get("user_properties") or {}).items()
            },
            sender=PropertyFilter.of(messages.get("from_")),
            recipient=PropertyFilter.of(messages.get("to")),
        )

    @property
    def tests_content(self) -> bool:
        """Whether some part can only be tested in Python, on the loaded comment."""
        return bool(self.user_properties) or self.sender is not None or self.recipient is not None

    def source_ids(self, available, scope: str = "dataset") -> list[str]:
        """The sources to read: the given ones, each of which must be available,
        or all available ones when none is given."""
        available = list(available)
        for source_id in self.sources:
            if source_id not in available:
                raise InvalidInput(
                    f"Invalid request: {self.field}.sources: '{source_id}' is not a source of this {scope}.",
                    field=f"{self.field}.sources",
                )
        return list(self.sources) or available

    def conditions(self, source_ids, dataset_id: str | None) -> list:
        """SQL conditions on `Comment` for the parts SQL can test."""
        out = [Comment.source_id.in_(list(source_ids))]
        if self.minimum is not None:
            out.append(Comment.timestamp >= self.minimum)
        if self.maximum is not None:
            out.append(Comment.timestamp <= self.maximum)
        if self.reviewed is not None:
            if dataset_id is None:
                raise ValueError("a review-state filter needs a dataset")
            reviewed = exists().where(
                Labelling.dataset_id == dataset_id,
                Labelling.comment_pk == Comment.pk,
                Labelling.reviewed.is_(True),
            )
            out.append(reviewed if self.reviewed == ONLY_REVIEWED else ~reviewed)
        return out

    def matches_content(self, comment) -> bool:
        """The parts `conditions` leaves out: user properties and addresses."""
        properties = comment.user_properties or {}
        for name, spec in self.user_properties.items():
            if not spec.accepts(properties.get(name)):
                return False
        messages = comment.messages or []
        if self.sender is not None and not self.sender.accepts_addresses(_senders(messages)):
            return False
        if self.recipient is not None and not self.recipient.accepts_addresses(_recipients(messages)):
            return False
        return True

    def matches(self, comment, reviewed: bool) -> bool:
        """Every part, for one loaded comment (a `Comment` or a row with its columns);
        `reviewed` says whether this filter's dataset has reviewed it."""
        if self.sources and comment.source_id not in self.sources:
            return False
        if self.minimum is not None and comment.timestamp < self.minimum:
            return False
        if self.maximum is not None and comment.timestamp > self.maximum:
            return False
        if self.reviewed == ONLY_REVIEWED and not reviewed:
            return False
        if self.reviewed == ONLY_UNREVIEWED and reviewed:
            return False
        return self.matches_content(comment)


def parse(data, field: str = "filter") -> CommentFilter:
    """Validate a raw CommentFilter (e.g. a stream's `comment_filter`); a 400 names
    the bad part by its path under `field`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput(f"Invalid request: {field}: Not a valid mapping type.", field=field)
    try:
        loaded = _schema.load(data)
    except ValidationError as error:
        raise InvalidInput("Invalid request: " + describe(ValidationError({field: error.messages})),
                           errors={field: error.messages}) from None
    return CommentFilter.from_loaded(loaded, field)
